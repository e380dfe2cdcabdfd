"""Where agentstream touches faust's internals, in one place.

Agents read the subscription queue of their faust channel directly instead of iterating a
``faust.Stream``: the Stream's per-event machinery (processors, current-event context,
per-event acks) is what makes a naive faust agent slow, and its acks happen before our
outputs are durable. Bypassing it means doing here the two things the Stream would have
done for each event (faust/streams.py, ``_py_aiter``):

* drop events fetched before a rebalance (stale consumer generation) or while flow control
  is suspended; the consumer seeks back to the committed offset and fetches them again;
* track each event as started, so that on rebalance and shutdown ``Consumer.wait_empty``
  waits until our loop acknowledged it before offsets are committed.
"""

from __future__ import annotations

from typing import Any

import faust


class FaustSource:
    """A faust channel's queue as a :class:`streams.batching.Source` of admitted events."""

    def __init__(self, app: faust.App, channel: Any) -> None:
        self._app = app
        self._queue = channel.queue
        self._consumer = app.consumer
        self._flow = app.flow_control

    def _admit(self, event: Any) -> bool:
        message = event.message
        if (
            not self._flow.is_active()
            or message.generation_id != self._app.consumer_generation_id
        ):
            return False
        if not message.tracked:
            message.tracked = True
            self._consumer.track_message(message)
        return True

    async def get(self) -> Any:
        while True:
            event = await self._queue.get()
            if self._admit(event):
                return event

    def get_nowait(self) -> Any:
        while True:  # raises asyncio.QueueEmpty when nothing admissible is buffered
            event = self._queue.get_nowait()
            if self._admit(event):
                return event

    def empty(self) -> bool:
        return bool(self._queue.empty())

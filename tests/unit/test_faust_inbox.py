"""The inbox tells faust's stall detector that its partitions are being processed."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from streams.faust_source import Inbox


async def _none(seconds: float) -> None:
    return None


async def test_records_handed_to_an_inbox_count_as_processed_for_faust() -> None:
    """faust's consumer thread logs "Stream has not started processing" at ERROR for a
    partition it fetches while ``monitor.stream_inbound_time`` has no entry for it; faust's
    own Stream sets that entry, which our records bypass (a 30-minute soak logged it)."""
    monitor = SimpleNamespace(stream_inbound_time={})
    app = SimpleNamespace(consumer=object(), flow_control=object(), monitor=monitor)
    inbox = Inbox(app, "t", high_water=100, quiesce=_none)  # type: ignore[arg-type]
    await inbox.put_many([SimpleNamespace(tp=TP("t", 0)), SimpleNamespace(tp=TP("t", 3))])
    assert set(monitor.stream_inbound_time) == {TP("t", 0), TP("t", 3)}

"""The parts of ``python -m bench``, in the order they run."""

from __future__ import annotations

from bench.parts import batching, latency, memory, model, scaling, seed, throughput
from bench.suite import Part

PARTS: dict[str, Part] = {
    p.name: p
    for p in (
        Part("throughput", "same work: agentstream, the raw loop, the peers, Kafka's tools",
             throughput.run, throughput.plot),
        Part("latency", "Client.ask request/reply beside a raw ping-pong",
             latency.run, latency.plot),
        Part("model", "handlers awaiting model calls, as a fraction of the ideal",
             model.run, model.plot),
        Part("batching", "one bulk call per window against one call per event",
             batching.run, batching.plot),
        Part("scaling", "1, 2 and 4 worker processes on 12 partitions",
             scaling.run, scaling.plot),
        Part("seed", "the customer-service system at rising rates",
             seed.run, seed.plot),
        Part("memory", "RSS per worker: idle, under load, downstream stalled",
             memory.run, memory.plot),
    )
}  # fmt: skip

__all__ = ["PARTS"]

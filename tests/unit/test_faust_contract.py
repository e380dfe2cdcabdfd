"""The private parts of faust, mode and aiokafka that streams/faust_source.py relies on.

The hot path bypasses faust's Stream/Event machinery (see that module's docstring). If an
upgrade renames or removes one of these, this test names it before a worker loses or
skips records on a rebalance. Versions are pinned in pyproject.toml.
"""

import inspect
from importlib.metadata import version

import pytest
from aiokafka import AIOKafkaConsumer
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer

PINNED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": None}

# Instance state, found where the class assigns it.
CONSUMER_STATE = [
    "_unacked_messages",
    "_waiting_for_ack",
    "_read_offset",
    "_commit_every",
    "_n_acked",
    "_paused_partitions",
    "_committed_offset",
    "_acked",
]
CONSUMER_METHODS = [
    "_add_gap",
    "_to_message",
    "_wait_next_records",
    "_new_consumer_thread",
    "_get_active_partitions",
    "_drain_messages",
    "pause_partitions",
    "resume_partitions",
    "on_partitions_revoked",
    "wait_empty",
    "ack",
    "commit",
    "maybe_wait_for_commit_to_finish",
    "force_commit",
    "perform_seek",
    "seek_to_committed",
    "seek",
]


@pytest.mark.parametrize(("package", "pinned"), [(p, v) for p, v in PINNED.items() if v])
def test_versions_are_the_pinned_ones(package: str, pinned: str) -> None:
    assert version(package) == pinned


@pytest.mark.parametrize("name", CONSUMER_STATE)
def test_faust_consumer_keeps_its_state_where_we_read_it(name: str) -> None:
    source = inspect.getsource(Consumer)
    assert f"self.{name} =" in source or f"self.{name}:" in source


@pytest.mark.parametrize("name", CONSUMER_METHODS)
def test_faust_consumer_methods_we_call_or_override_exist(name: str) -> None:
    assert callable(getattr(AIOKafkaDriverConsumer, name))


def test_faust_consumer_thread_builds_the_aiokafka_consumer_in_one_place() -> None:
    assert callable(AIOKafkaConsumerThread._create_worker_consumer)


def test_aiokafka_keeps_the_fetch_long_poll_where_we_shorten_it() -> None:
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in inspect.getsource(
        AIOKafkaConsumer.__init__
    )


def test_drain_messages_is_what_the_fetcher_service_runs() -> None:
    """Our _Consumer replaces _drain_messages; faust's fetcher must still call it."""
    from faust.transport.consumer import Fetcher

    assert "_drain_messages" in inspect.getsource(Fetcher)


def test_a_rebalance_seeks_to_the_committed_offsets_before_the_flow_resumes() -> None:
    """Records dropped while a rebalance is under way are fetched again only because
    faust's recovery seeks every partition to its committed offset, through
    ``Consumer.perform_seek``, before it resumes the flow (streams/faust_source.py)."""
    from faust.tables.recovery import Recovery

    source = inspect.getsource(Recovery._resume_streams)
    assert source.index("consumer.perform_seek()") < source.index("consumer.resume_flow()")


def test_aiokafka_reads_the_isolation_level_where_we_set_it() -> None:
    """Exactly-once apps read committed: set on the consumer faust builds, before its
    fetcher is created from it at start."""
    assert "self._isolation_level = isolation_level" in inspect.getsource(AIOKafkaConsumer.__init__)
    assert "isolation_level=self._isolation_level" in inspect.getsource(AIOKafkaConsumer.start)


def test_faust_commits_through_one_method_we_filter() -> None:
    """Offsets of exactly-once mailboxes are committed by their transactions; our
    consumer leaves them out of faust's commits in ``_commit``, which faust's commit
    path calls, and faust still records them as committed afterwards."""
    assert callable(AIOKafkaDriverConsumer._commit)
    source = inspect.getsource(Consumer._commit_offsets)
    assert source.index("self._commit(committable_offsets)") < source.index(
        "self._committed_offset.update(committable_offsets)"
    )


def test_aiokafka_producers_report_their_transactional_id_and_sender() -> None:
    """streams/transactions.py waits for a producer's id through its transaction manager
    and watches its sender task for errors it cannot retry."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.producer.sender import Sender
    from aiokafka.producer.transaction_manager import TransactionManager

    assert "self._txn_manager = TransactionManager(" in inspect.getsource(AIOKafkaProducer)
    assert "self._sender = Sender(" in inspect.getsource(AIOKafkaProducer)
    assert callable(TransactionManager.wait_for_pid)
    assert isinstance(Sender.sender_task, property)


def test_faust_stall_detector_reads_the_stream_inbound_time_we_set() -> None:
    """Inbox.put_many records when a partition's records were handed on, in the field
    faust's consumer thread checks before it logs "Stream has not started processing"."""
    from faust.sensors.monitor import Monitor

    assert "self.stream_inbound_time = {}" in inspect.getsource(Monitor)
    source = inspect.getsource(AIOKafkaConsumerThread.verify_event_path)
    assert "monitor.stream_inbound_time.get(tp)" in source

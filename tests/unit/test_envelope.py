import pytest

from schemas import Envelope, EnvelopeError


def test_headers_round_trip() -> None:
    env = Envelope.new("support.Inquiry", "tests", replyto="r", causationid="c")
    headers = env.to_headers()
    names = [h for h, _ in headers]
    assert {"ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "content-type"} <= set(
        names
    )
    assert Envelope.from_headers([*headers, ("other", b"x")]) == env
    assert env.correlationid == env.id


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], "ce_id"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_specversion", b"1.0")], "ce_type"),
        ([("ce_id", b"\xff"), ("ce_type", b"t"), ("ce_source", b"s")], "UTF-8"),
        (
            [("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"s"), ("ce_specversion", b"0.3")],
            "specversion",
        ),
    ],
)
def test_bad_headers(headers: list[tuple[str, bytes]], reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_headers(headers)


def test_successor_headers_match_a_new_envelope_caused_by_this_one() -> None:
    cause = Envelope.new("support.Inquiry", "client", correlationid="conv-1", replyto="r")
    got = Envelope.from_headers(cause.successor_headers("support.Answer", "router"))
    expected = Envelope.new(
        "support.Answer", "router", correlationid="conv-1", causationid=cause.id
    )
    assert got.id != cause.id
    assert got.time is not None
    assert (got.type, got.source, got.correlationid, got.causationid, got.replyto) == (
        expected.type,
        expected.source,
        expected.correlationid,
        expected.causationid,
        None,
    )
    assert [name for name, _ in cause.successor_headers("t", "s")] == [
        name for name, _ in expected.to_headers()
    ]


def test_successor_headers_carry_the_trace_context() -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    cause = Envelope.from_headers(
        [*Envelope.new("a.B", "s").to_headers(), ("traceparent", parent.encode())]
    )
    assert Envelope.from_headers(cause.successor_headers("c.D", "agent")).traceparent == parent
    untraced = Envelope.new("a.B", "s")
    assert "traceparent" not in dict(untraced.successor_headers("c.D", "agent"))


def test_a_process_forked_after_import_draws_ids_of_its_own() -> None:
    import os

    from schemas.envelope import new_id

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parent_id = new_id()
    assert len(child_id) == len(parent_id) == 32
    assert child_id[:16] != parent_id[:16]


def test_the_auth_context_travels_on_the_wire_and_to_successors() -> None:
    cause = Envelope.new("support.Inquiry", "agentstream.console", authid="web-abc")
    wire = dict(cause.to_headers())
    assert (wire["ce_authtype"], wire["ce_authid"]) == (b"app_user", b"web-abc")
    got = Envelope.from_headers(cause.to_headers())
    assert (got.authtype, got.authid) == ("app_user", "web-abc")
    successor = Envelope.from_headers(got.successor_headers("support.Triage", "preprocess"))
    assert (successor.authtype, successor.authid) == ("app_user", "web-abc")
    anonymous = Envelope.new("support.Inquiry", "producer")
    assert "ce_authid" not in dict(anonymous.to_headers())
    assert "ce_authid" not in dict(anonymous.successor_headers("t", "s"))

import pytest

from schemas import Message
from streams.codec import decode_json, encode, validate
from streams.errors import DecodeError, SchemaError

MiB = 1024 * 1024


class Ping(Message):
    n: int


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no value"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "depth"),
        (b"[" * 65 + b"]" * 65, "nested deeper than 64"),
        (b" " * (MiB + 1), "exceeds the limit"),
    ],
)
def test_bad_bytes_raise_decode_error(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_json(raw, MiB, 64)


def test_depth_at_the_limit_and_brackets_in_strings_pass() -> None:
    assert decode_json(b"[" * 64 + b"]" * 64, MiB, 64) is not None
    assert decode_json(b'{"s": "' + b"[" * 500 + b'"}', MiB, 64) == {"s": "[" * 500}


def test_round_trip_and_schema_violations() -> None:
    assert validate(Ping, decode_json(encode(Ping(n=3)), MiB, 64)) == Ping(n=3)
    with pytest.raises(SchemaError, match="n"):
        validate(Ping, {"n": "x"})
    with pytest.raises(SchemaError, match="extra"):
        validate(Ping, {"n": 1, "typo": 2})


def test_message_type_defaults_to_module_and_class() -> None:
    class Custom(Message):
        message_type = "support.Custom"

    assert Ping.message_type == "test_codec.Ping"
    assert Custom.message_type == "support.Custom"

"""The AsyncAPI 3.0 document and the JSON Schemas of ``agentstream schema export``: the
document's shape (checked against the parts of the AsyncAPI 3.0 JSON Schema it uses),
every $ref resolving, operations naming messages of their own channel, and schemas and
headers that accept what the runtime really puts on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from typer.testing import CliRunner

from schemas import Envelope, Failed, Message
from schemas.envelope import HEADER_NAMES, REQUIRED_HEADERS
from schemas.support import Inquiry
from streams import App, BatchContext, Context, handler
from streams.deadletter import dead_letter_headers
from streams.records import Inbound
from streams.tools import asyncapi
from streams.tools.cli import cli
from streams.worker import load_app

REF: dict[str, Any] = {
    "type": "object",
    "required": ["$ref"],
    "properties": {"$ref": {"type": "string", "pattern": "^#/"}},
    "additionalProperties": False,
}
KEY = r"^[\w\d\.\-_]+$"  # components' keys (AsyncAPI 3.0)
MESSAGE = {
    "type": "object",
    "required": ["name", "headers", "payload"],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "contentType": {"type": "string"},
        "headers": {"type": "object", "required": ["type", "properties"]},
        "payload": {"type": "object"},
        "bindings": {"type": "object", "properties": {"kafka": {"type": "object"}}},
    },
    "additionalProperties": False,
}
CHANNEL = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "address": {"type": ["string", "null"]},
        "messages": {"type": "object", "additionalProperties": REF},
        "bindings": {"type": "object"},
    },
    "additionalProperties": False,
}
REFS = {"type": "array", "items": REF}
OPERATION = {
    "type": "object",
    "required": ["action", "channel"],
    "properties": {
        "action": {"enum": ["send", "receive"]},
        "channel": REF,
        "messages": REFS,
        "summary": {"type": "string"},
        "bindings": {"type": "object"},
        "reply": {
            "type": "object",
            "properties": {
                "address": {
                    "type": "object",
                    "required": ["location"],
                    "properties": {
                        "location": {
                            "type": "string",
                            "pattern": r"^\$message\.(header|payload)#(\/(([^\/~])|(~[01]))*)*",
                        },
                        "description": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "channel": REF,
                "messages": REFS,
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
DOCUMENT = {
    "type": "object",
    "required": ["asyncapi", "info", "channels", "operations", "components"],
    "properties": {
        "asyncapi": {"const": "3.0.0"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "defaultContentType": {"type": "string"},
        "channels": {"type": "object", "additionalProperties": CHANNEL},
        "operations": {"type": "object", "additionalProperties": OPERATION},
        "components": {
            "type": "object",
            "properties": {
                "messages": {
                    "type": "object",
                    "patternProperties": {KEY: MESSAGE},
                    "additionalProperties": False,
                },
                "schemas": {
                    "type": "object",
                    "patternProperties": {KEY: {"type": "object"}},
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


class Order(Message):
    item: str
    quantity: int = 1


class Cancel(Message):
    order_id: str


class Placed(Message):
    """An order that was placed."""

    order_id: str
    lines: list[Order]


def _shop() -> App:
    app = App("shop", partitions=3)

    @app.agent("shop.orders", reply_to="shop.audit")
    async def take(msg: Order | Cancel, ctx: Context) -> Placed | None:
        return None

    @app.agent("shop.audit")
    async def audit(batch: list[Placed], ctx: BatchContext) -> list[None]:
        return [None] * len(batch)

    @app.agent("shop.support")
    class Desk:
        @handler
        async def order(self, msg: Order, ctx: Context) -> Placed:
            return Placed(order_id="1", lines=[msg])

    return app


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _check(doc: dict[str, Any]) -> None:
    jsonschema.validate(doc, DOCUMENT)
    for ref in _refs(doc):
        _resolve(doc, ref)  # KeyError when it points nowhere
    for op in doc["operations"].values():
        channel = op["channel"]["$ref"]
        assert all(m["$ref"].startswith(f"{channel}/messages/") for m in op["messages"])
        if "reply" in op:
            reply = op["reply"]
            assert _resolve(doc, reply["channel"]["$ref"])["address"] is None
            prefix = f"{reply['channel']['$ref']}/messages/"
            assert all(m["$ref"].startswith(prefix) for m in reply["messages"])


def _validator(doc: dict[str, Any], ref: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``ref``, with the document's components in reach."""
    return jsonschema.Draft202012Validator({"$ref": ref, "components": doc["components"]})


def test_the_document_has_the_shape_of_asyncapi_3() -> None:
    doc = asyncapi.build(_shop(), "2.1.0")
    _check(doc)
    assert doc["info"]["version"] == "2.1.0"
    assert doc["channels"]["shop.orders"]["bindings"]["kafka"]["partitions"] == 3
    assert set(doc["operations"]) == {
        "take.receive", "take.reply", "take.deadLetter", "audit.receive", "audit.deadLetter",
        "Desk.receive", "Desk.reply", "Desk.deadLetter",
    }  # fmt: skip
    receive = doc["operations"]["take.receive"]
    assert receive["action"] == "receive"
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == ["shop"]
    assert [m["$ref"] for m in receive["messages"]] == [
        "#/channels/shop.orders/messages/test_asyncapi.Cancel",
        "#/channels/shop.orders/messages/test_asyncapi.Order",
    ]
    assert receive["reply"]["address"]["location"] == "$message.header#/ce_replyto"
    assert [m["$ref"].rsplit("/", 1)[1] for m in receive["reply"]["messages"]] == [
        "test_asyncapi.Placed", Failed.message_type,
    ]  # fmt: skip
    assert doc["operations"]["take.deadLetter"]["action"] == "send"


def test_a_topic_one_agent_answers_on_and_another_reads_is_one_channel() -> None:
    doc = asyncapi.build(_shop())
    audit = doc["channels"]["shop.audit"]
    assert audit["address"] == "shop.audit"
    assert list(audit["messages"]) == ["test_asyncapi.Placed"]
    assert doc["operations"]["take.reply"]["channel"] == {"$ref": "#/channels/shop.audit"}
    assert doc["operations"]["audit.receive"]["channel"] == {"$ref": "#/channels/shop.audit"}


def test_payload_schemas_take_real_messages_and_refuse_wrong_ones() -> None:
    doc = asyncapi.build(_shop())
    placed = doc["components"]["messages"]["test_asyncapi.Placed"]
    assert placed["summary"] == "An order that was placed."
    check = _validator(doc, placed["payload"]["$ref"])
    good = Placed(order_id="7", lines=[Order(item="pen", quantity=2)]).model_dump(mode="json")
    check.validate(good)
    assert not check.is_valid({**good, "unknown": 1})  # extra="forbid" on the wire
    assert not check.is_valid({"order_id": "7", "lines": [{"quantity": 2}]})  # nested model


def test_headers_are_the_cloudevents_headers_on_the_wire() -> None:
    doc = asyncapi.build(_shop())
    order = doc["components"]["messages"]["test_asyncapi.Order"]
    headers = order["headers"]
    assert set(headers["properties"]) == set(HEADER_NAMES.values())
    assert headers["required"] == list(REQUIRED_HEADERS)
    envelope = Envelope.new(
        Order.message_type, "tests", replyto="r", causationid="c", authid="web-1"
    )
    envelope.traceparent = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    wire = {name: value.decode() for name, value in envelope.to_headers()}
    assert set(wire) == set(HEADER_NAMES.values())  # every header the runtime writes
    check = _validator(doc, "#/components/messages/test_asyncapi.Order/headers")
    check.validate(wire)
    assert not check.is_valid({**wire, "ce_type": "test_asyncapi.Cancel"})
    assert not check.is_valid({k: v for k, v in wire.items() if k != "ce_id"})


def test_dead_letter_headers_are_those_the_runtime_writes() -> None:
    doc = asyncapi.build(_shop())
    schema = doc["components"]["messages"][asyncapi.DEAD_LETTER]["headers"]
    bad_input = Inbound("shop.orders", 0, 5, b"k", b"not json", [])
    written = dead_letter_headers(bad_input, "take", "decode", ValueError("no"), 1)
    wire = {name: value.decode() for name, value in written}
    assert set(wire) <= set(schema["properties"])
    assert set(asyncapi.DEAD_LETTER_DOCS) == set(wire)
    jsonschema.Draft202012Validator(schema).validate(wire)


@pytest.mark.parametrize("path", ["agents.echo:app", "agents.support:app", "agents.content:app"])
def test_the_shipped_apps_documents_are_well_formed(path: str) -> None:
    app = load_app(path, Path())
    doc = asyncapi.build(app)
    _check(doc)
    for spec in app.specs:
        assert doc["channels"][spec.mailbox]["address"] == spec.mailbox
        assert doc["channels"][spec.dead_letter_topic]["messages"]


def test_export_writes_the_document_and_one_schema_per_message_type(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["schema", "export", "agents.support:app", "--out", str(tmp_path),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = orjson.loads(result.stdout)["files"]
    assert str(tmp_path / "asyncapi.json") in written
    _check(orjson.loads((tmp_path / "asyncapi.json").read_bytes()))
    inquiry = orjson.loads((tmp_path / "schemas" / "support.Inquiry.schema.json").read_bytes())
    jsonschema.Draft202012Validator.check_schema(inquiry)
    good = Inquiry(customer_id="c1", text="where is my invoice?").model_dump(mode="json")
    jsonschema.validate(good, inquiry)
    assert not jsonschema.Draft202012Validator(inquiry).is_valid({"text": "x", "typo": 1})
    assert (tmp_path / "schemas" / "agentstream.Failed.schema.json").exists()

    printed = runner.invoke(cli, ["schema", "export", "agents.echo:app"])
    assert printed.exit_code == 0
    assert orjson.loads(printed.stdout)["asyncapi"] == "3.0.0"


def test_agents_lists_topics_policies_and_types() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["agents", "agents.echo:app", "--json"])
    assert result.exit_code == 0, result.stderr
    (echo,) = orjson.loads(result.stdout)["agents"]
    assert (echo["mailbox"], echo["reply_topic"], echo["dead_letter_topic"]) == (
        "echo", "echo.replies", "echo.dlq",
    )  # fmt: skip
    assert echo["messages"] == {"echo.Ping": "schemas.echo.Ping"}
    assert echo["replies"] == {"echo.Pong": "schemas.echo.Pong"}
    pretty = runner.invoke(cli, ["agents", "agents.support:app"])
    assert pretty.exit_code == 0
    assert "knowledge_base (function)" in pretty.stdout
    assert "support.kb.dlq" in pretty.stdout

"""An app's AsyncAPI 3.0 document and its message types' JSON Schemas, built from the
agent specs alone (no broker).

Per agent: its mailbox, its reply topic, its dead-letter topic and the reply address a
request names in ``ce_replyto`` are channels; it receives from the mailbox (answering at
``ce_replyto`` when there is one) and sends to the reply and dead-letter topics. Every
message carries the CloudEvents headers of the Kafka binding (binary mode), the value is
the message as JSON and the key is the ordering key. Fan-out through ``ctx.send`` is not
declared anywhere, so it is not in the document.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic.json_schema import models_json_schema

from schemas import Failed, Message
from schemas.envelope import CONTENT_TYPE, HEADER_NAMES, REQUIRED_HEADERS, SPECVERSION
from streams.agent import AgentSpec
from streams.app import App
from streams.tools.appinfo import all_models, message_types, reply_types

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMA_REF = "#/components/schemas/{model}"
DEAD_LETTER = "agentstream.DeadLetter"
REPLY_ADDRESS = "$message.header#/ce_replyto"

HEADER_DOCS = {
    "ce_id": "the event's unique id",
    "ce_type": "the message type; dispatch is by this header",
    "ce_source": "who produced the event",
    "ce_specversion": "CloudEvents version",
    "ce_time": "when the event was produced (ISO 8601, UTC)",
    "content-type": "media type of the value",
    "ce_correlationid": "the id of the request this event belongs to",
    "ce_replyto": "the topic the result goes to (else the agent's reply topic)",
    "ce_causationid": "the id of the event that caused this one",
    "traceparent": "W3C trace context, when tracing is on",
    "ce_authtype": "CloudEvents auth context: app_user when ce_authid is set",
    "ce_authid": "the customer a trusted gateway authenticated (carried on to successors)",
}
DEAD_LETTER_DOCS = {
    "dlq.original.topic": "topic of the failed record",
    "dlq.original.partition": "its partition",
    "dlq.original.offset": "its offset",
    "dlq.stage": "where it failed: decode, validate, dispatch, handle, timeout or produce",
    "dlq.error.class": "the error's class",
    "dlq.error.message": "the error's message",
    "dlq.error.stacktrace": "the stack trace (at most 8 KiB)",
    "dlq.attempts": "how many times the handler ran",
    "dlq.agent": "the agent that failed",
    "dlq.failed.at": "when (ISO 8601, UTC)",
}
REPLAYS_DOC = {"dlq.replays": "how often the record was replayed from the dead letters"}


def headers_schema(ce_type: str | None = None, *, strict: bool = True) -> dict[str, Any]:
    """The CloudEvents headers as a JSON Schema object; ``ce_type`` fixed when given.
    Not ``strict``: nothing required (a dead letter may be bad input without them)."""
    props: dict[str, Any] = {
        name: {"type": "string", "description": HEADER_DOCS.get(name, "")}
        for name in HEADER_NAMES.values()
    }
    props["ce_specversion"]["const"] = SPECVERSION
    props["ce_time"]["format"] = "date-time"
    props["content-type"]["const"] = CONTENT_TYPE
    if ce_type is not None:
        props["ce_type"]["const"] = ce_type
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if strict:
        schema["required"] = list(REQUIRED_HEADERS)
    return schema


def json_schema(model: type[Message]) -> dict[str, Any]:
    """One message type's standalone JSON Schema (draft 2020-12), as consumers validate."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{model.message_type}.schema.json",
        **model.model_json_schema(),
    }


def _payloads(
    models: list[type[Message]],
) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """(``ce_type`` -> payload $ref, every schema by name) with nested models shared."""
    refs, top = models_json_schema([(m, "validation") for m in models], ref_template=SCHEMA_REF)
    by_type = {m.message_type: dict(refs[(m, "validation")]) for m in models}
    return by_type, dict(top.get("$defs", {}))


def _summary(model: type[Any]) -> str:
    doc = inspect.cleandoc(model.__doc__ or "")
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def _message(ce_type: str, model: type[Message], payload: dict[str, str]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": ce_type,
        "title": model.__name__,
        "contentType": CONTENT_TYPE,
        "headers": headers_schema(ce_type),
        "payload": payload,
        "bindings": {"kafka": {"key": {"type": "string", "description": "the ordering key"},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }  # fmt: skip
    if summary := _summary(model):
        message["summary"] = summary
    return message


def _dead_letter() -> dict[str, Any]:
    headers = headers_schema(strict=False)
    for name, doc in {**DEAD_LETTER_DOCS, **REPLAYS_DOC}.items():
        headers["properties"][name] = {"type": "string", "description": doc}
    headers["required"] = list(DEAD_LETTER_DOCS)
    return {
        "name": DEAD_LETTER,
        "title": "DeadLetter",
        "summary": "A record an agent could not handle: its key, value and headers byte for "
        "byte, and dlq.* headers saying where and why.",
        "headers": headers,
        "payload": {"description": "the failed record's value as it was (any bytes)"},
    }


def _id(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name)


class _Document:
    def __init__(self, app: App) -> None:
        self.app = app
        self.channels: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}

    def channel(self, key: str, address: str | None, messages: list[str]) -> str:
        """Add ``messages`` (component ids) to the channel ``key``; its $ref."""
        key = _id(key)
        found = self.channels.setdefault(key, {"address": address, "messages": {}})
        if address is not None:
            found.setdefault("bindings", {"kafka": {
                "topic": address, "partitions": self.app.partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }})  # fmt: skip
        for m in messages:
            found["messages"][m] = {"$ref": f"#/components/messages/{m}"}
        return f"#/channels/{key}"

    def operation(self, key: str, action: str, channel: str, messages: list[str]) -> dict[str, Any]:
        op: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": channel},
            "messages": [{"$ref": f"{channel}/messages/{m}"} for m in messages],
        }
        self.operations[_id(key)] = op
        return op

    def agent(self, spec: AgentSpec) -> None:
        takes, answers = list(message_types(spec)), list(reply_types(spec))
        mailbox = self.channel(spec.mailbox, spec.mailbox, takes)
        receive = self.operation(f"{spec.name}.receive", "receive", mailbox, takes)
        receive["summary"] = f"agent {spec.name} handles the events of {spec.mailbox}"
        receive["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [self.app.id]},
                                         "bindingVersion": KAFKA_BINDING_VERSION}}  # fmt: skip
        asked = [*answers, Failed.message_type]
        replyto = self.channel(f"{spec.name}.ce_replyto", None, asked)
        receive["reply"] = {
            "address": {"location": REPLY_ADDRESS, "description": "the request's ce_replyto"},
            "channel": {"$ref": replyto},
            "messages": [{"$ref": f"{replyto}/messages/{m}"} for m in asked],
        }
        if answers:  # an agent that answers nothing (it fans out, say) has no results
            replies = self.channel(spec.reply_topic, spec.reply_topic, answers)
            self.operation(f"{spec.name}.reply", "send", replies, answers)["summary"] = (
                f"results of events without ce_replyto go to {spec.reply_topic}"
            )
        dead = self.channel(spec.dead_letter_topic, spec.dead_letter_topic, [DEAD_LETTER])
        self.operation(f"{spec.name}.deadLetter", "send", dead, [DEAD_LETTER])["summary"] = (
            f"events agent {spec.name} could not handle"
        )


def models_of(app: App) -> dict[str, type[Message]]:
    """Every message type of the document, by ``ce_type``: those the agents take and
    answer with, and ``agentstream.Failed`` (the answer to a request that failed)."""
    return {**all_models(app), Failed.message_type: Failed}


def build(app: App, version: str = "1.0.0") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``app``."""
    models = models_of(app)
    payloads, schemas = _payloads(list(models.values()))
    doc = _Document(app)
    for spec in app.specs:
        doc.agent(spec)
    messages = {t: _message(t, m, payloads[t]) for t, m in models.items()}
    messages[DEAD_LETTER] = _dead_letter()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"agentstream app {app.id}",
            "version": version,
            "description": f"The agents of app {app.id} (consumer group {app.id}), their "
            "mailboxes, reply and dead-letter topics. Values are JSON; CloudEvents 1.0 "
            "attributes travel as ce_* headers (Kafka binding, binary mode).",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": doc.channels,
        "operations": doc.operations,
        "components": {"messages": messages, "schemas": schemas},
    }

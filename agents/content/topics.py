"""The system's mailboxes. A prefix keeps several deployments (or tests) apart on one
cluster: ``Topics.with_prefix("staging.")`` reads ``staging.content.requests``."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.content import KINDS, Kind


@dataclass(frozen=True, slots=True)
class Topics:
    requests: str
    writers: dict[Kind, str]
    fallback: str
    drafts: str
    review: str
    revise: str
    publish: str
    published: str  # where Published goes when the request was not an ask

    @classmethod
    def with_prefix(cls, prefix: str = "") -> Topics:
        base = f"{prefix}content"
        return cls(
            requests=f"{base}.requests",
            writers={kind: f"{base}.write.{kind}" for kind in KINDS},
            fallback=f"{base}.write.fallback",
            drafts=f"{base}.drafts",
            review=f"{base}.review",
            revise=f"{base}.revise",
            publish=f"{base}.publish",
            published=f"{base}.published",
        )

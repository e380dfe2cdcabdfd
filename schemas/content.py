"""Messages of the content-creation system (agents/content).

Flow, wired only through topics (every name may carry a prefix, see
``agents.content.create_app``)::

    content.requests        ContentRequest (keyed by request id)       -> planner
    content.write.<kind>    SectionTask    one per section, keyed      -> specialist writer
                            "<request id>:<index>"; kind is research,
                            creative, technical or editor
    content.write.fallback  SectionTask    with the failure reason     -> fallback writer
    content.drafts          SectionDraft   (keyed by request id)       -> integrator
    content.review          Draft          the assembled piece         -> reviewer
    content.revise          Revision       a draft and its findings    -> reviser -> review
    content.publish         Draft          reviewed, final             -> publisher
    (asker's ce_replyto, else content.published)  Published

Every event after the request carries the request's ``ce_replyto`` and correlation id, so
``Client.ask("content.requests", ...)`` gets the ``Published`` record.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.message import Message

Kind = Literal["research", "creative", "technical", "editor"]
WriterName = Literal["research", "creative", "technical", "editor", "fallback"]
KINDS: tuple[Kind, ...] = ("research", "creative", "technical", "editor")
MAX_SECTIONS = 12
MAX_REVIEW_ROUNDS = 5

# Surrounding blanks are dropped first, so "   " is as empty as "".
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
SectionTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class Part(BaseModel):
    """A record nested in a message: as strict and immutable as the message itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ContentRequest(Message):
    """A piece to write. Produce it keyed by ``request_id`` (or anything stable)."""

    request_id: str | None = Field(default=None, min_length=1, max_length=128)
    topic: Text
    audience: Text
    # Section titles to write, in order; left out, the planner decides.
    sections: list[SectionTitle] | None = Field(default=None, min_length=1, max_length=MAX_SECTIONS)
    # Revisions the reviewer may ask for before the piece is published as it is.
    max_review_rounds: int = Field(default=2, ge=0, le=MAX_REVIEW_ROUNDS)


class Job(Part):
    """What every stage needs to know about the request it works for.

    ``run`` is the id of the request event: a request redelivered after a crash has the
    same run (its fan-in state is shared), two requests that reuse a ``request_id`` do
    not."""

    request_id: str
    run: str
    topic: str
    audience: str
    title: str
    max_review_rounds: int = Field(ge=0, le=MAX_REVIEW_ROUNDS)


class SectionTask(Message):
    """One section for one writer. ``reason`` says why it reached the fallback writer."""

    job: Job
    index: int = Field(ge=0)
    count: int = Field(ge=1, le=MAX_SECTIONS)
    kind: Kind
    title: str
    brief: str
    reason: str | None = None


class SectionDraft(Message):
    """A written section, with who wrote it and, for the fallback writer, why."""

    job: Job
    index: int = Field(ge=0)
    count: int = Field(ge=1, le=MAX_SECTIONS)
    kind: Kind
    title: str
    writer: WriterName
    text: str
    reason: str | None = None

    @model_validator(mode="after")
    def _index_in_range(self) -> SectionDraft:
        # The fan-in counts fields up to ``count``: an index past it would never be seen.
        if self.index >= self.count:
            raise ValueError(f"section index {self.index} is not below count {self.count}")
        return self


class SectionInfo(Part):
    """A section of the published piece: who wrote it, why the fallback writer did (if
    it did), and its length as first written (before any revision)."""

    index: int
    title: str
    kind: Kind
    writer: WriterName
    words: int = Field(ge=0)
    reason: str | None = None


class Section(SectionInfo):
    """A section of a draft, with its current text (no heading: the piece adds it)."""

    text: str


class ReviewNote(Part):
    """One review of the whole piece: its round (0 for the first draft), the lowest
    section score (None when no section could be reviewed) and every finding, each
    prefixed with its section's title."""

    round: int = Field(ge=0)
    score: float | None = Field(default=None, ge=0, le=1)
    findings: list[str] = Field(default_factory=list)


class Draft(Message):
    """The whole piece after ``round`` revisions, with every review so far."""

    job: Job
    sections: list[Section] = Field(min_length=1)
    round: int = Field(default=0, ge=0)
    reviews: list[ReviewNote] = Field(default_factory=list)


class SectionFindings(Part):
    """What to fix in one section."""

    index: int = Field(ge=0)
    findings: list[str]


class Revision(Message):
    """A draft the reviewer sent back, and the sections to revise (those that scored
    below the threshold)."""

    draft: Draft
    revise: list[SectionFindings] = Field(min_length=1)


class Published(Message):
    """The finished piece: the reply to a ``ContentRequest``.

    ``word_count`` counts each CJK character as a word (as word processors do);
    ``reading_minutes`` reads 200 words or 400 CJK characters a minute. ``rounds`` is the
    number of revisions made; ``reviews`` has one note per review. ``model`` names the
    model client ("offline" or "openai:<model>"), ``offline`` says whether no real model
    was involved."""

    request_id: str
    topic: str
    audience: str
    title: str
    body: str
    word_count: int = Field(ge=0)
    reading_minutes: float = Field(ge=0)
    rounds: int = Field(ge=0)
    reviews: list[ReviewNote]
    sections: list[SectionInfo]
    model: str
    offline: bool

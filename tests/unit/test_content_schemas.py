"""What the content system accepts on the wire."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.content import (
    ContentRequest,
    Draft,
    Job,
    Published,
    Revision,
    Section,
    SectionDraft,
    SectionFindings,
    SectionTask,
)

JOB = Job(request_id="r1", run="e1", topic="t", audience="a", title="T", max_review_rounds=2)


def test_defaults() -> None:
    req = ContentRequest(topic=" Kafka ", audience="ops")
    assert (req.topic, req.request_id, req.sections, req.max_review_rounds) == (
        "Kafka",
        None,
        None,
        2,
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"topic": "", "audience": "a"}, "topic"),
        ({"topic": "   ", "audience": "a"}, "topic"),
        ({"topic": "t", "audience": "a", "max_review_rounds": 99}, "max_review_rounds"),
        ({"topic": "t", "audience": "a", "max_review_rounds": -1}, "max_review_rounds"),
        ({"topic": "t", "audience": "a", "sections": []}, "sections"),
        ({"topic": "t", "audience": "a", "sections": ["ok", " "]}, "sections"),
        ({"topic": "t", "audience": "a", "sections": ["s"] * 13}, "sections"),
        ({"topic": "t"}, "audience"),
        ({"topic": "t", "audience": "a", "colour": "red"}, "colour"),
    ],
)
def test_bad_requests_are_refused(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as err:
        ContentRequest.model_validate(fields)
    assert problem in str(err.value)


def test_a_section_index_must_be_below_the_count() -> None:
    fields = {"job": JOB, "kind": "research", "title": "x", "writer": "fallback", "text": "y"}
    SectionDraft.model_validate({**fields, "index": 1, "count": 2})
    with pytest.raises(ValidationError, match="not below count"):
        SectionDraft.model_validate({**fields, "index": 2, "count": 2})


def test_message_types() -> None:
    types = [m.message_type for m in (ContentRequest, SectionTask, SectionDraft, Draft)]
    assert types == [
        "content.ContentRequest",
        "content.SectionTask",
        "content.SectionDraft",
        "content.Draft",
    ]
    assert (Revision.message_type, Published.message_type) == (
        "content.Revision",
        "content.Published",
    )


def test_a_revision_carries_its_draft_through_json() -> None:
    section = Section(index=0, title="S", kind="editor", writer="editor", words=1, text="x")
    draft = Draft(job=JOB, sections=[section], round=1)
    revision = Revision(draft=draft, revise=[SectionFindings(index=0, findings=["too short"])])
    assert Revision.model_validate_json(revision.model_dump_json()) == revision
    with pytest.raises(ValidationError):
        Revision(draft=draft, revise=[])

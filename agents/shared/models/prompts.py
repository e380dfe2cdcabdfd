"""What the OpenAI-compatible client asks the model, and what it reads back: the chat
completion, and in it the JSON answer of a structured call.

Structured answers (classify, plan, review) are requested in JSON mode and validated by
the models below; anything else is a ``ModelError``, never a guess.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.shared.models.base import ModelError, SectionKind
from schemas.support import Category, Urgency

if TYPE_CHECKING:
    from agents.shared.retrieval import KBEntry

Messages = list[dict[str, str]]
Model = TypeVar("Model", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message


class Completion(BaseModel):
    """The part of a chat-completions response the client reads."""

    choices: list[_Choice]
    usage: Usage | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ClassifyAnswer(_Answer):
    category: Category
    urgency: Urgency
    confidence: float = Field(ge=0, le=1)


class PlannedSection(_Answer):
    title: str = Field(min_length=1, max_length=200)
    kind: SectionKind
    brief: str = Field(min_length=1, max_length=2000)


class PlanAnswer(_Answer):
    sections: list[PlannedSection] = Field(min_length=1, max_length=12)


class ReviewAnswer(_Answer):
    score: float = Field(ge=0, le=1)
    findings: list[str] = Field(default_factory=list, max_length=20)


def parse(content: str, model: type[Model]) -> Model:
    """The model's JSON answer validated against ``model``. Code fences around the JSON
    are tolerated (some servers add them even in JSON mode)."""
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data: Any = json.loads(text)
        return model.model_validate(data)
    except (ValueError, ValidationError) as e:
        raise ModelError(f"the model's answer is not a valid {model.__name__}: {e}") from e


def nonempty(content: str) -> str:
    """A text answer, stripped; an empty one is a ``ModelError``."""
    text = content.strip()
    if not text:
        raise ModelError("the model answered with empty text")
    return text


def _chat(system: str, user: str) -> Messages:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def classify(text: str, lang: str, history: list[str]) -> Messages:
    earlier = "\n".join(f"- {turn}" for turn in history[-5:]) or "(none)"
    return _chat(
        "You classify customer-service inquiries. Answer with one JSON object: "
        '{"category": one of faq, technical, billing, complaint, sales, general; '
        '"urgency": one of low, normal, high, critical; "confidence": 0 to 1}.',
        f"Language: {lang}\nEarlier messages of this customer:\n{earlier}\n\nInquiry:\n{text}",
    )


def answer(question: str, lang: str, passages: list[KBEntry]) -> Messages:
    sources = "\n\n".join(
        f"[{p.id}] {p.title}\nQ: {p.question}\nA: {p.answer}"
        + "".join(f"\n{i}. {step}" for i, step in enumerate(p.steps, 1))
        for p in passages
    )
    reply_in = "Simplified Chinese" if lang == "zh" else "English"
    return _chat(
        "You are a customer-service agent. Answer only from the passages given; if they "
        f"do not answer the question, say so. Reply in {reply_in}, briefly and politely.",
        f"Passages:\n{sources or '(none)'}\n\nCustomer question:\n{question}",
    )


def plan(topic: str, audience: str, sections: list[str] | None) -> Messages:
    wanted = (
        "Use exactly these section titles, in this order: " + json.dumps(sections)
        if sections
        else "Choose 3 to 6 sections."
    )
    return _chat(
        "You plan articles. Answer with one JSON object: "
        '{"sections": [{"title": str, "kind": one of research, creative, technical, '
        'editor, "brief": what the section must cover}]}.',
        f"Topic: {topic}\nAudience: {audience}\n{wanted}",
    )


def write(kind: str, title: str, topic: str, audience: str, brief: str) -> Messages:
    return _chat(
        f"You are a {kind} writer. Write one section of an article in Markdown, starting "
        "with its heading, 120 to 300 words.",
        f"Article topic: {topic}\nAudience: {audience}\nSection: {title}\nBrief: {brief}",
    )


def review(title: str, text: str, round: int) -> Messages:
    return _chat(
        "You review article sections. Answer with one JSON object: "
        '{"score": 0 to 1, "findings": [short, actionable problems; empty if none]}.',
        f"Review round {round}. Section: {title}\n\n{text}",
    )


def revise(title: str, text: str, findings: list[str]) -> Messages:
    todo = "\n".join(f"- {f}" for f in findings) or "- (no findings: polish only)"
    return _chat(
        "You revise article sections. Return the whole revised section in Markdown, nothing else.",
        f"Section: {title}\nFix these findings:\n{todo}\n\nText:\n{text}",
    )

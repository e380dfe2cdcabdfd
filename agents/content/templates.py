"""What the system falls back on when the model cannot help: a plan from the request
alone and a plainly templated section. Both are deterministic and need nothing running,
so a request always ends in a published piece."""

from __future__ import annotations

from agents.content.text import has_cjk
from agents.shared.models.base import SectionPlan
from schemas.content import KINDS, Kind

_DEFAULT_EN: tuple[tuple[str, Kind], ...] = (
    ("Introduction", "creative"),
    ("Background", "research"),
    ("In practice", "technical"),
    ("Summary", "editor"),
)
_DEFAULT_ZH: tuple[tuple[str, Kind], ...] = (
    ("引言", "creative"),
    ("背景", "research"),
    ("实践", "technical"),
    ("总结", "editor"),
)


def fallback_plan(topic: str, audience: str, sections: list[str] | None) -> list[SectionPlan]:
    """The requested sections (kinds taken in turn), or four standard ones."""
    if sections:
        return [
            SectionPlan(title, KINDS[i % len(KINDS)], _brief(title, topic, audience))
            for i, title in enumerate(sections)
        ]
    default = _DEFAULT_ZH if has_cjk(topic) else _DEFAULT_EN
    return [SectionPlan(title, kind, _brief(title, topic, audience)) for title, kind in default]


def _brief(title: str, topic: str, audience: str) -> str:
    if has_cjk(topic):
        return f"为{audience}撰写“{topic}”的“{title}”部分。"
    return f"Write the '{title}' section of a piece on {topic} for {audience}."


def section_text(title: str, topic: str, audience: str, brief: str) -> str:
    """A short, honest section built from the plan itself."""
    if has_cjk(topic):
        return (
            f"本节“{title}”面向{audience}，讨论{topic}。{brief}"
            f"这里先概述要点，更详细的内容将在后续修订中补充。"
        )
    return (
        f"This section, {title}, is for {audience} and covers {topic}. {brief} "
        f"It outlines the main points; a fuller treatment follows in a later revision."
    )

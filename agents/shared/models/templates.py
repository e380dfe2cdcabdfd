"""The offline model's plans and prose: templates filled from the request, chosen by a
hash of it, so the same request always gets the same text and different sections read
differently. The prose is realistic in shape and length, not in insight: it exists so
that the content pipeline runs end to end without a model, and it is labelled as such.

Drafts deliberately end without a takeaway, and research and technical drafts never
address the reader: the offline reviewer (``critique.py``) finds exactly that, so the
review-and-revise loop has something to do.
"""

from __future__ import annotations

import hashlib

from agents.shared.models.base import SectionKind, SectionPlan

LABEL_EN = "[offline model]"
LABEL_ZH = "【离线模型】"

_DEFAULT_PLAN: tuple[tuple[str, SectionKind, str], ...] = (
    ("Why {topic} matters to {audience}", "creative",
     "Open with a situation {audience} will recognise and the problem {topic} addresses."),
    ("What we know about {topic}", "research",
     "Summarise the evidence on {topic}: what has been measured and what is uncertain."),
    ("How {topic} works in practice", "technical",
     "Explain the mechanics of {topic} step by step, with the trade-offs that matter."),
    ("Getting started with {topic}", "technical",
     "Give the first steps {audience} can take this week, and what to check after each."),
    ("Key takeaways", "editor",
     "Pull the article on {topic} together: three points to remember and one next step."),
)  # fmt: skip

_KIND_WORDS: tuple[tuple[SectionKind, tuple[str, ...]], ...] = (
    ("editor", ("summary", "conclusion", "takeaway", "wrap", "recap", "总结", "结论")),
    ("technical", ("how", "setup", "set up", "install", "architecture", "implement", "code",
                   "configur", "guide", "step", "api", "技术", "实现", "架构", "配置")),
    ("research", ("research", "evidence", "data", "history", "background", "study", "studies",
                  "market", "trend", "what we know", "背景", "数据", "研究")),
    ("creative", ("story", "intro", "why", "case", "example", "vision", "故事", "引言", "案例")),
)  # fmt: skip

_OPENERS: dict[str, tuple[str, ...]] = {
    "research": (
        "The record on {topic} is more mixed than its reputation suggests.",
        "Before judging {topic}, it helps to look at what has actually been measured.",
        "Studies of {topic} agree on less than the headlines imply, but on more than nothing.",
    ),
    "creative": (
        "Picture a Monday morning when {topic} finally stops being an abstract idea.",
        "Every team has a moment when {topic} goes from a slide to something real.",
        "It usually starts small: one person tries {topic} and the room grows curious.",
    ),
    "technical": (
        "Under the hood, {topic} comes down to a few moving parts and their limits.",
        "To make {topic} work reliably, start with how its components hand work to each other.",
        "The mechanics of {topic} are simpler than the vocabulary around it.",
    ),
    "editor": (
        "Taken together, the previous sections describe {topic} from several angles.",
        "Stepping back from the details, a clear shape of {topic} emerges.",
        "Each part of this article answered one question about {topic}.",
    ),
}

_BODY: dict[str, tuple[str, ...]] = {
    "research": (
        "Surveys of practitioners report gains, yet few of them compare against a baseline.",
        "Where controlled comparisons exist, the effect is real but smaller than early claims.",
        "The strongest results come from settings with clear goals and honest measurement.",
        "Failures are under-reported, which makes the published picture look tidier than it is.",
        "Costs tend to appear later than benefits, so short studies flatter {topic}.",
        "The numbers that hold up best are about time saved on repetitive, well-defined work.",
        "Open questions remain about maintenance, training and how results last over years.",
        "Independent replications of the best-known results of {topic} are still rare.",
        "Much of what is written about {topic} comes from vendors, which colours the framing.",
        "The teams that report lasting results also report investing in training and review.",
        "Comparisons across organisations are hard because each one measures success its own way.",
        "Taken as a whole, the evidence points to modest, dependable gains rather than leaps.",
    ),
    "creative": (
        "The first attempt is clumsy, and nobody is quite sure what success should look like.",
        "Then a small win lands, and the conversation shifts from whether to how.",
        "People who were sceptical start asking sharper questions, which is a good sign.",
        "The work that used to take an afternoon now fits between two meetings.",
        "Not everything improves at once, and the rough edges become the next project.",
        "What changes most is not the tooling but the confidence to try things.",
        "A year later, it is hard to remember how the old way felt.",
        "The story of {topic} is, in the end, a story about habits.",
        "Someone keeps a notebook of what worked, and it quietly becomes the team's playbook.",
        "The newcomers who join later never learn the old workarounds, and nobody misses them.",
        "There are setbacks, a bad week, a rollback, but each one teaches something specific.",
        "Slowly the question changes from what {topic} can do to what the team wants next.",
    ),
    "technical": (
        "Inputs are validated at the edge, so bad data never reaches the core logic.",
        "Each stage does one job and hands its result on through a well-defined interface.",
        "State lives in one place, which keeps recovery after a crash predictable.",
        "Limits on concurrency and retries keep a slow dependency from stalling everything.",
        "Configuration is explicit and versioned, so a change can be reviewed and rolled back.",
        "Metrics on latency, errors and throughput show where {topic} spends its time.",
        "Tests run the real components together, not imitations of them.",
        "The usual failure is a missing timeout, so every outside call gets one.",
        "Work is retried with backoff when a dependency fails, and set aside when it stays down.",
        "Capacity is planned from measured peaks, not averages, with room for the slowest path.",
        "Logs carry an identifier per request, so one slow call can be followed end to end.",
        "Upgrades are rolled out gradually, with a quick way back if the error rate moves.",
    ),
    "editor": (
        "The evidence supports {topic} where goals are clear and progress is measured.",
        "The mechanics are manageable when each part has a single, visible job.",
        "The human side matters as much as the technical one, and it moves more slowly.",
        "You will get the most from {topic} by starting small and measuring honestly.",
        "The risks you should watch are cost creep, brittle setups and unclear ownership.",
        "Most of what goes wrong can be seen early by anyone who looks for it.",
        "The sections above each end with a step you can take on your own.",
        "None of this requires a big programme, only steady attention.",
        "The common thread is feedback: short loops between trying something and seeing it work.",
        "Where the sections disagree, the disagreement itself points to what is still unknown.",
        "The order matters as well: evidence first, then mechanics, then the habits around them.",
        "What remains is to pick one place to begin and to agree on how progress will be judged.",
    ),
}

_FOR_READER = (
    "If you are among {audience}, you will recognise this pattern from your own projects.",
    "For {audience}, the practical question is which of your current tasks this touches.",
)


def plan(topic: str, audience: str, sections: list[str] | None) -> list[SectionPlan]:
    """The default five-part plan, or the given section titles with a kind guessed from
    their words (first untyped one creative, last editor, the rest alternating)."""
    if not sections:
        return [
            SectionPlan(
                title.format(topic=topic, audience=audience),
                kind,
                f"{brief.format(topic=topic, audience=audience)} {LABEL_EN}",
            )
            for title, kind, brief in _DEFAULT_PLAN
        ]
    return [
        SectionPlan(
            title,
            _kind_of(title, i, len(sections)),
            f"Cover '{title}' for {audience}, as part of an article on {topic}. {LABEL_EN}",
        )
        for i, title in enumerate(sections)
    ]


def _kind_of(title: str, index: int, count: int) -> SectionKind:
    words = title.lower()
    for kind, markers in _KIND_WORDS:
        if any(m in words for m in markers):
            return kind
    if index == 0:
        return "creative"
    if index == count - 1 and count > 1:
        return "editor"
    return "research" if index % 2 else "technical"


def write(kind: str, title: str, topic: str, audience: str) -> str:
    """A draft section: heading, two paragraphs of 150-230 words, the label on the last
    line. Unknown kinds write like the editor."""
    style = kind if kind in _BODY else "editor"
    pick = _Picker(f"{style}\x00{title}\x00{topic}")
    fill = {"topic": topic, "audience": audience or "its readers"}
    sentences = [pick.one(_OPENERS[style])]
    sentences += pick.distinct(_BODY[style], 10)
    if style in ("creative", "editor"):
        sentences.insert(2, pick.one(_FOR_READER))
    text = [s.format(**fill) for s in sentences]
    half = len(text) // 2
    return f"## {title}\n\n{' '.join(text[:half])}\n\n{' '.join(text[half:])}\n\n{LABEL_EN}"


class _Picker:
    """Deterministic choices drawn from a hash of the request (no global random state)."""

    def __init__(self, seed: str) -> None:
        self._digest = hashlib.sha256(seed.encode()).digest()
        self._at = 0

    def _next(self) -> int:
        value = self._digest[self._at % len(self._digest)]
        self._at += 1
        return value

    def one(self, options: tuple[str, ...]) -> str:
        return options[self._next() % len(options)]

    def distinct(self, options: tuple[str, ...], n: int) -> list[str]:
        pool = list(options)
        return [pool.pop(self._next() % len(pool)) for _ in range(min(n, len(pool)))]

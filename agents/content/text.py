"""Counting and assembling the text of a piece.

Word counts treat each CJK character as a word, as word processors do; reading time
takes 200 words a minute for alphabetic text and 400 characters a minute for CJK text
(about two characters per word), so a Chinese piece is not rated twice as long as an
English one of the same content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORDS_PER_MINUTE = 200
CJK_CHARS_PER_MINUTE = 400

# CJK ideographs (with extension A and compatibility), kana and hangul.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_HEADING = re.compile(r"\A\s*#{1,6}[ \t][^\n]*\n?")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def counts(text: str) -> tuple[int, int]:
    """(alphabetic words, CJK characters) in ``text``; markup and punctuation are not
    words."""
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(_CJK.sub(" ", text)))
    return words, cjk


def word_count(text: str) -> int:
    words, cjk = counts(text)
    return words + cjk


def reading_minutes(text: str) -> float:
    """Minutes to read ``text``, to a tenth of a minute."""
    words, cjk = counts(text)
    return round(words / WORDS_PER_MINUTE + cjk / CJK_CHARS_PER_MINUTE, 1)


def title_of(topic: str) -> str:
    """The piece's title: the topic as asked, with a capital first letter."""
    topic = " ".join(topic.split())
    return topic[:1].upper() + topic[1:]


def without_heading(text: str) -> str:
    """A section's text without the Markdown heading a model may start it with: the
    piece gives every section its planned title."""
    return _HEADING.sub("", text, count=1).strip()


def assemble(title: str, sections: Iterable[tuple[str, str]]) -> str:
    """The piece as Markdown: the title, then each (section title, text) in order."""
    parts = [f"# {title}"]
    parts += [f"## {heading}\n\n{text.strip()}" for heading, text in sections]
    return "\n\n".join(parts) + "\n"

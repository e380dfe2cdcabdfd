"""Counting, reading time and assembly of a piece's text."""

from __future__ import annotations

import pytest

from agents.content.text import (
    assemble,
    counts,
    reading_minutes,
    title_of,
    without_heading,
    word_count,
)


def test_alphabetic_words_ignore_markup_and_punctuation() -> None:
    text = "# Title\n\n## Part one\n\nIt's a well-known fact: 3 cats, 2 dogs!"
    assert counts(text) == (11, 0)  # "It's" and "well-known" are one word each
    assert word_count(text) == 11


def test_each_cjk_character_is_a_word() -> None:
    assert counts("事件流处理，很重要。") == (0, 8)
    assert counts("Kafka 事件流 for teams") == (3, 3)


def test_reading_time_is_200_words_or_400_cjk_characters_a_minute() -> None:
    assert reading_minutes(" ".join(["word"] * 400)) == 2.0
    assert reading_minutes("字" * 400) == 1.0
    assert reading_minutes(" ".join(["word"] * 100) + "字" * 200) == 1.0
    assert reading_minutes("") == 0.0


def test_a_leading_heading_is_dropped_once() -> None:
    assert without_heading("## Intro\n\nBody text.\n\n## Later\n") == "Body text.\n\n## Later"
    assert without_heading("  # Only a title") == ""
    assert without_heading("No heading here.") == "No heading here."
    assert without_heading("#hashtag first") == "#hashtag first"


def test_assemble_puts_sections_in_the_order_given() -> None:
    body = assemble("Streams", [("One", "First.\n"), ("Two", "Second.")])
    assert body == "# Streams\n\n## One\n\nFirst.\n\n## Two\n\nSecond.\n"


@pytest.mark.parametrize(
    ("topic", "title"),
    [("event  streaming\tfor teams", "Event streaming for teams"), ("事件流", "事件流")],
)
def test_title_of_topic(topic: str, title: str) -> None:
    assert title_of(topic) == title

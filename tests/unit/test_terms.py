"""Term lists (agents.shared.terms): whole words, prefixes, Chinese substrings, and the
longest term where terms overlap."""

from __future__ import annotations

import pytest

from agents.shared.terms import Terms, pattern


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("cancel", "please cancel it", True),
        ("cancel", "cancelled", False),
        ("cancel*", "i cancelled yesterday", True),
        ("cancel*", "precancel", False),
        ("box", "inbox full", False),
        ("box", "my box, again", True),
        ("e-mail", "my e-mail address", True),
        ("cloud box", "the cloud   box", True),
        ("密码", "忘记密码了", True),
        ("plus版", "我的plus版会员", True),
        ("plus版", "surplus版", False),
        ("2fa", "turn on 2fa now", True),
    ],
)
def test_a_term_matches_as_documented(term: str, text: str, found: bool) -> None:
    assert Terms.of([term]).search(text) is found


def test_the_longest_term_wins_where_terms_overlap() -> None:
    terms = Terms([("acme cloud", "cloud"), ("acme cloud box", "box"), ("box", "box")])
    assert [m.label for m in terms.find("my acme cloud box and acme cloud")] == ["box", "cloud"]
    assert terms.labels("nothing here") == set()


def test_an_empty_term_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty term"):
        pattern(" * ")

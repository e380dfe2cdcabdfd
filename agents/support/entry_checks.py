"""One knowledge-base entry's part of the answer gate: the products it covers, the kinds
of question it answers, the term groups an inquiry must name (not negated), and the
words it accounts for."""

from __future__ import annotations

import re

from agents.shared.retrieval import KBEntry
from agents.shared.terms import Terms
from agents.shared.text import tokenize
from agents.support import signals as sig
from agents.support.catalogue import Catalogue
from agents.support.negation import Negation, negation


class EntryChecks:
    """One entry's part of the gate: its products, kinds, term groups, vocabulary."""

    def __init__(self, entry: KBEntry, catalogue: Catalogue) -> None:
        self.entry = entry
        self.products = catalogue.expand(entry.products) - catalogue.umbrella
        self.kinds = frozenset(entry.kinds)
        self.groups = [Terms.of(group) for group in entry.requires]
        # About the service (its apps, account, plans), not about hardware.
        self.service = not self.products & catalogue.groups["hardware"]
        words = " ".join((entry.text, *entry.steps, *(t for g in entry.requires for t in g)))
        self.vocabulary = frozenset(tokenize(words.replace("*", ""), entry.lang))
        # The words that name the entry's subject: its title and its first term group.
        named = " ".join((entry.title, *(entry.requires[0] if entry.requires else ())))
        self.topic_words = frozenset(tokenize(named.replace("*", ""), entry.lang))
        self._han_words = [w for w in self.vocabulary if is_han(w) and len(w) > 1]
        # "countr*" accounts for "country" and "countries" (a stem cut off elsewhere).
        self._prefixes = tuple(
            t.rstrip("*").lower()
            for group in entry.requires
            for t in group
            if t.endswith("*") and t.isascii() and len(t) > 4
        )
        said = " ".join((entry.title, entry.question, entry.answer, *entry.steps))
        self._answer_words = frozenset(tokenize(said, entry.lang))
        said_all = entry.answer + "".join(entry.steps)
        self.gives_numbers = any(ch.isdigit() for ch in said_all)
        self.gives_prices = _PRICE.search(said_all) is not None

    def topical(self, lowered: str) -> int:
        """Where ``lowered`` first names the entry's subject (a term of its first group)
        when it names a term of every group; -1 when it does not name the topic."""
        if not self.groups or not all(terms.search(lowered) for terms in self.groups):
            return -1
        return self.groups[0].find(lowered)[0].start

    def explains(self, token: str) -> bool:
        """Whether the entry accounts for ``token``: it is one of the entry's words, or,
        for Chinese, shares a word with it either way ("试用期" and "试用"; word
        segmentation splits the same phrase differently in different sentences)."""
        if token in self.vocabulary or token.startswith(self._prefixes or ("\0",)):
            return True
        if not is_han(token):
            return False
        return any(w in token or (token in w and len(token) > 1) for w in self._han_words)

    def answers(self, token: str) -> bool:
        """Whether the entry's own text (not its keywords) contains ``token``."""
        return token in self._answer_words or (
            is_han(token) and any(w in token or token in w for w in self._answer_words if is_han(w))
        )

    def refuses(self, lowered: str, products: frozenset[str], signals: sig.Signals) -> str | None:
        """Why the entry does not answer the inquiry, or None."""
        if self.entry.products and not products <= self.products:
            return f"it is about {', '.join(sorted(products - self.products))}"
        for n, terms in enumerate(self.groups):
            why = self._group(lowered, terms, core=n == 0)
            if why:
                return why
        if "fix" in signals.kinds and "fix" not in self.kinds and self.kinds:
            return "a fault report, and the entry is not troubleshooting"
        if signals.quantity and not self.gives_numbers:
            return "a question about a number, and the entry gives none"
        if signals.price and not self.gives_prices:
            return "a question about a price, and the entry gives none"
        if self.kinds == {"fix"} and signals.kinds == {"info"}:
            return "a question about what it does, and the entry fixes a fault"
        return None

    def _group(self, lowered: str, terms: Terms, core: bool) -> str | None:
        """Why the inquiry fails a group: none of its terms, or only negated ones; for
        the ``core`` group (the entry's subject), a subject the customer says they do
        not want fails it whatever else matches ("SMS instead of an authenticator app"
        against the entry on authenticator apps)."""
        matches = terms.find(lowered)
        if not matches:
            return "none of its topic words"
        negations = [(m, negation(lowered, m.start, m.end)) for m in matches]
        unwanted = [m for m, negated in negations if negated == "volition"]
        if core and unwanted:
            return f"not wanted: {lowered[unwanted[0].start : unwanted[0].end]!r}"
        if any(negated is None or not self._refused_by(negated) for _, negated in negations):
            return None
        kinds = [f"{negated} {lowered[m.start : m.end]!r}" for m, negated in negations]
        return "negated: " + ", ".join(kinds)

    def _refused_by(self, negated: Negation) -> bool:
        if negated == "volition":
            return True
        if negated == "plain":
            return "fix" not in self.kinds
        return "fix" not in self.kinds and "howto" in self.kinds  # done


_PRICE = re.compile(r"[$€£¥]\s?\d|\d\s?(元|块|usd|eur|gbp|dollars?|euros?)|\bfree\b|免费", re.I)


def is_han(token: str) -> bool:
    return "\u3400" <= token[:1] <= "\u9fff"

"""What Acme Cloud sells (agents/support/data/catalogue.json), and what an inquiry names.

The answer gate uses it twice: a knowledge-base entry answers only inquiries about the
products it covers, and an inquiry about a kind of product the company does not sell
gets the catalogue's own answer ("we do not sell X; here is what we offer") instead of
an entry about something else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.shared.datasets import read_json
from agents.shared.terms import Terms
from schemas.support import Lang

CATALOGUE_FILE = "catalogue.json"
SOURCE = "catalogue"  # the ``sources`` of a reply written from the catalogue itself

_SOLD = "sold:"
_NOT_SOLD = "not:"
_PLATFORM = "platform:"


@dataclass(frozen=True, slots=True)
class Mentions:
    """What one text names: products sold (ids, other than the service itself), kinds
    of product not sold (ids, in the order they appear) and platforms (devices and
    software the products run on)."""

    sold: frozenset[str]
    not_sold: tuple[str, ...]
    platforms: frozenset[str]
    service: bool = False  # the service itself is named ("the app", "Acme Cloud")
    first_not_sold: int = -1  # where the first product not sold is named


class Catalogue:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self.groups: dict[str, frozenset[str]] = {
            g: frozenset(ids) for g, ids in data["groups"].items()
        }
        self.products = {p["id"]: p for p in data["products"]}
        self.umbrella = frozenset(p["id"] for p in data["products"] if p["kind"] == "umbrella")
        self.not_sold = {p["id"]: p for p in data["not_sold"]}
        pairs: list[tuple[str, str]] = []
        for p in data["products"]:
            pairs += [(a, _SOLD + p["id"]) for a in _aliases(p)]
        for p in data["not_sold"]:
            pairs += [(a, _NOT_SOLD + p["id"]) for a in _aliases(p)]
        platforms = data["platforms"]
        pairs += [(a, _PLATFORM + a) for lang in ("en", "zh") for a in platforms[lang]]
        self._terms = Terms(pairs)

    @classmethod
    def shipped(cls) -> Catalogue:
        global _shipped
        with _lock:
            if _shipped is None:
                _shipped = cls(read_json(CATALOGUE_FILE))
            return _shipped

    def expand(self, ids: Iterable[str]) -> frozenset[str]:
        """Product ids with groups (``plans``, ``hardware``) replaced by their members;
        an unknown id is a ``ValueError`` (a typo in the data must not pass silently)."""
        out: set[str] = set()
        for i in ids:
            if i in self.groups:
                out |= self.groups[i]
            elif i in self.products:
                out.add(i)
            else:
                raise ValueError(f"unknown product or group {i!r}")
        return frozenset(out)

    def mentions(self, lowered: str) -> Mentions:
        """What ``lowered`` (cleaned, lowercased text) names."""
        sold: set[str] = set()
        not_sold: list[str] = []
        platforms: set[str] = set()
        first = -1
        for m in self._terms.find(lowered):
            kind, _, value = m.label.partition(":")
            if kind + ":" == _SOLD:
                sold.add(value)
            elif kind + ":" == _NOT_SOLD:
                first = m.start if first < 0 else first
                if value not in not_sold:
                    not_sold.append(value)
            else:
                platforms.add(value)
        # The service itself is named in passing everywhere ("my Acme Cloud account"):
        # only the products below it tell entries apart.
        service = bool(sold & self.umbrella)
        sold -= self.umbrella
        return Mentions(frozenset(sold), tuple(not_sold), frozenset(platforms), service, first)

    def not_sold_answer(self, ids: Iterable[str], lang: Lang) -> str:
        """We do not sell these; what we do sell."""
        names = [self.not_sold[i]["name"][lang] for i in ids]
        offer = self._data["offer"][lang]
        if lang == "zh":
            listed_zh = "、".join(names)
            return f"抱歉，我们不销售{listed_zh}。{offer}如果您是在其他商家购买的，请联系该商家。"
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return (
            f"We don't sell {listed}. {offer} If you bought it from another company, "
            f"its seller can help you with it."
        )


def _aliases(product: Mapping[str, Any]) -> list[str]:
    return [a for lang in ("en", "zh") for a in product["aliases"][lang]]


_shipped: Catalogue | None = None
_lock = threading.Lock()

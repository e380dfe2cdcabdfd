"""The router (rules, then the offline model) on the held-out test split, per language,
with the text prepared as preprocess prepares it (cleaned, personal data masked)."""

from __future__ import annotations

import collections
from pathlib import Path

import orjson

from agents.shared.models.offline import OfflineModel
from agents.shared.pii import mask
from agents.shared.text import clean
from agents.support.routing import Decision, Router
from config.settings import SupportSettings

TEST_SPLIT = Path(__file__).resolve().parents[2] / "agents/support/data/inquiries.test.jsonl"


async def test_router_accuracy_per_language_is_at_least_090() -> None:
    rows = [orjson.loads(line) for line in TEST_SPLIT.read_text().splitlines() if line.strip()]
    router = Router(OfflineModel(), SupportSettings().rules_confidence)
    decided: list[tuple[dict[str, str], Decision]] = [
        (row, await router.decide(mask(clean(row["text"])).text, row["lang"])) for row in rows
    ]
    figures = {}
    for lang in ("en", "zh"):
        mine = [(r, d) for r, d in decided if r["lang"] == lang]
        category = sum(d.category == r["category"] for r, d in mine) / len(mine)
        urgency = sum(d.urgency == r["urgency"] for r, d in mine) / len(mine)
        routes = collections.Counter(d.route for _, d in mine)
        figures[lang] = (len(mine), category, urgency, dict(routes))
        print(
            f"\n{lang}: {len(mine)} inquiries, category accuracy {category:.3f}, "
            f"urgency accuracy {urgency:.3f}, routes {dict(routes)}"
        )
    for lang, (n, category, urgency, _) in figures.items():
        assert n >= 20, f"too few {lang} inquiries in the test split"
        assert category >= 0.90, f"{lang}: category accuracy {category:.3f}"
        assert urgency >= 0.5, f"{lang}: urgency accuracy {urgency:.3f}"

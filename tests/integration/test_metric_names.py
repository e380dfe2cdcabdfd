"""Every metric the Grafana dashboards and the Prometheus rules use is one a real worker
serves: a renamed metric cannot leave an empty panel or an alert that never fires."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agents.shared.models.offline import OfflineModel
from agents.support import create_app
from config import Settings
from schemas.support import Quality
from tests.integration.observed import get, observed_worker, send_jobs
from tests.integration.workers import wait_until

CONFIG = Path(__file__).resolve().parents[2] / "config"
#: Series Prometheus writes itself for every target.
FROM_PROMETHEUS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or Grafana's ``label_values(...)``) reads."""
    if match := re.fullmatch(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*).*", expr, re.DOTALL):
        return {match[1]}
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    found = re.finditer(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {m[1] for m in found if m[1].lower() not in KEYWORDS}


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (agent, le) (rate(a_bucket{agent=~"$agent", '
        'x="y{z}"}[$__rate_interval])))\n/ on (agent) group_left b:c:rate5m > bool 1e3 '
        "and deriv(c_total[10m] offset 5m) > 0"
    )
    assert metric_names(expr) == {"a_bucket", "b:c:rate5m", "c_total"}
    assert metric_names('label_values(d_total{agent=~"$agent"}, topic)') == {"d_total"}


def _dashboard_exprs(node: Any) -> Iterator[str]:
    """Every target ``expr`` and templating query of a dashboard, rows' panels included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition", "query") and isinstance(value, str):
                yield value
            else:
                yield from _dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_exprs(item)


def _used() -> tuple[dict[str, set[str]], set[str]]:
    """Where each metric name is used, and the names recording rules define."""
    used: dict[str, set[str]] = {}
    dashboards = sorted((CONFIG / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        for expr in _dashboard_exprs(json.loads(path.read_text())):
            for name in metric_names(expr):
                used.setdefault(name, set()).add(path.name)
    groups = yaml.safe_load((CONFIG / "prometheus" / "rules.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    for rule in rules:
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"rules.yml {rule.get('alert') or rule['record']}")
    return used, {rule["record"] for rule in rules if "record" in rule}


def _served(metrics: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(metrics) for s in f.samples}


def _support_served() -> set[str]:
    """What a customer-service worker serves besides the runtime's metrics: its quality
    monitor's, once it has recorded a reply."""
    app = create_app(Settings(), OfflineModel(), prefix="names.")
    app.support_metrics.record(
        Quality(
            inquiry_id="i", customer_id="c", status="answered", category="faq",
            inquiry_sentiment=0.0, reply_sentiment=0.5, latency_seconds=0.2, score=0.9,
            flagged=False,
        )
    )  # fmt: skip
    return _served(generate_latest(app.metrics.registry).decode())


async def test_every_metric_of_the_dashboards_and_rules_is_served(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    used, recorded = _used()
    assert len(used) >= 10, used
    async with observed_worker(settings, topic, tmp_path) as port:
        await send_jobs(settings, topic, 60, failing=2)
        url = f"http://127.0.0.1:{port}/metrics"

        async def lag_reported() -> bool:  # the lag comes every 2 s
            return "agentstream_consumer_lag" in _served((await get(url))[1])

        await wait_until(lag_reported, 15, "a consumer lag report")
        served = _served((await get(url))[1]) | _support_served()

    missing = {
        name: sorted(where)
        for name, where in used.items()
        if name not in served and name not in recorded and name not in FROM_PROMETHEUS
    }
    assert not missing, f"used but not served by a worker: {missing}"
    # The check itself: a name no worker serves is reported.
    assert "agentstream_handled_total" not in served
    for name in ("agentstream_errors_total", "agentstream_cache_requests_total"):
        assert name in served, name

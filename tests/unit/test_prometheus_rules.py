"""The Prometheus configuration and alert rules: promtool's checks and the rules' unit
tests (config/prometheus/rules_test.yml), and the shape every alert must have."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[2] / "config" / "prometheus"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        raise AssertionError("promtool not found on PATH (apt-get install prometheus)")
    done = subprocess.run(  # noqa: S603 - our own argv
        [promtool, *args], cwd=CONFIG, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check", "config", "prometheus.yml"), "SUCCESS: 1 rule files found"),
        (("check", "rules", "rules.yml"), "SUCCESS"),
        (("test", "rules", "rules_test.yml"), "SUCCESS"),
    ],
)
def test_promtool(args: tuple[str, ...], expected: str) -> None:
    assert expected in _promtool(*args)


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((CONFIG / "rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_has_a_duration_a_severity_and_a_description() -> None:
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert len(alerts) >= 7
    for rule in alerts:
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load((CONFIG / "rules_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in _rules():
        if "alert" not in rule:
            continue
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']} never fires"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']} never quiet"

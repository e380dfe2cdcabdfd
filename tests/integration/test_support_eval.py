"""``agentstream support eval``: labelled inquiries through the whole customer-service
flow over Kafka (preprocess, router, answering agents), figures per language and
category, conversations in order, and bad files refused before anything is sent."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from config import Settings

ROOT = Path(__file__).resolve().parents[2]
LINES: list[dict[str, Any]] = [
    {"id": "q1", "text": "How do I reset my password?", "category": "faq",
     "expected": {"outcome": "answer", "entries": ["kb-en-001"]}},
    {"id": "q2", "text": "怎么开启两步验证？", "lang": "zh", "category": "faq",
     "expected": {"outcome": "answer", "entries": ["kb-zh-006"]}},
    {"id": "q3", "text": "My wireless earbuds keep disconnecting from my laptop",
     "category": "not-sold", "expected": {"outcome": "answer", "entries": ["catalogue"]}},
    {"id": "q4", "text": "The refund for the camera I sent back still hasn't reached my card",
     "category": "billing", "expected": {"outcome": "action", "action": "refund_status",
                                          "queue": "billing"}},
    {"id": "q5", "text": "This is the third time I write. Your service is a disgrace.",
     "category": "complaint", "expected": {"outcome": "escalate", "queue": "complaints"}},
    {"id": "c1", "conversation": "chat", "text": "How do I download a copy of all my files?",
     "category": "conversation", "expected": {"outcome": "answer", "entries": ["kb-en-046"]}},
    {"id": "c2", "conversation": "chat", "text": "how long does it take?",
     "category": "conversation", "expected": {"outcome": "answer", "entries": ["kb-en-046"]}},
    {"id": "c3", "conversation": "chat", "text": "are you hiring engineers?",
     "category": "conversation", "expected": {"outcome": "answer", "entries": ["kb-en-035"]}},
]  # fmt: skip


async def run_eval(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "AGENTSTREAM_REDIS__URL": settings.redis.url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from agents.cli import main; main()", "support", "eval", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return path


async def test_eval_measures_the_whole_flow(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "labelled.jsonl", LINES)

    code, out, err = await run_eval(settings, str(path), "--json")

    assert code == 0, err
    report = orjson.loads(out)
    rows = {r["id"]: r for r in report["results"]}
    assert list(rows) == [line["id"] for line in LINES], "the file's order"
    assert rows["q1"]["sources"] == ["kb-en-001"]
    assert rows["q2"]["sources"] == ["kb-zh-006"]
    assert rows["q3"]["sources"] == ["catalogue"]
    assert (rows["q4"]["status"], rows["q4"]["queue"]) == ("escalated", "billing")
    assert (rows["q5"]["status"], rows["q5"]["queue"]) == ("escalated", "complaints")
    # the follow-up uses the conversation; the new question does not
    assert rows["c2"]["sources"] == ["kb-en-046"]
    assert rows["c3"]["sources"] == ["kb-en-035"]
    assert all(r["success"] for r in rows.values()), rows
    groups = report["groups"]
    assert set(groups) >= {"all", "en", "zh", "en/conversation", "zh/faq"}
    total = groups["all"]
    assert total["inquiries"] == total["replied"] == len(LINES)
    assert total["precision"] == 1.0
    assert total["escalation_recall"] == 1.0
    assert total["automation"] == round(6 / 8, 4)
    assert 0 < total["latency_p50"] <= total["latency_p99"]


async def test_eval_prints_a_table_and_the_wrong_answers(
    settings: Settings, tmp_path: Path
) -> None:
    wrong = {"id": "w1", "text": "How do I reset my password?",
             "expected": {"outcome": "escalate", "queue": "security"}}  # fmt: skip
    path = write(tmp_path / "labelled.jsonl", [LINES[0], wrong])

    code, out, err = await run_eval(settings, str(path))

    assert code == 0, err
    for column in ("automation", "precision", "esc. recall", "task success", "p99 s"):
        assert column in out
    assert "wrong answers (1):" in out
    assert "w1: 'How do I reset my password?' -> kb-en-001 (expected escalate security)" in out


async def test_a_bad_file_is_refused_before_anything_is_sent(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": 1, "text": "hi", "expected": {"outcome": "answer"}}\n'
        '{"id": 2, "text": "hi", "expected": {"outcome": "sometimes"}}\n'
    )
    code, out, err = await run_eval(settings, str(path))
    assert code == 2
    assert out == ""
    assert f"{path}:2: not an inquiry (expected.outcome:" in err

    code, _, err = await run_eval(settings, "no-such-set")
    assert code == 2
    assert "no such file, and not a shipped set" in err

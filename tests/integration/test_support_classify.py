"""``agentstream support classify``: a JSONL file through the router agents over Kafka."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson

from agents.shared.datasets import read_jsonl
from config import Settings
from schemas.support import CATEGORIES, URGENCIES

ROOT = Path(__file__).resolve().parents[2]


async def classify(settings: Settings, path: Path) -> tuple[int, list[dict[str, object]], str]:
    env = {
        **os.environ,
        "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "AGENTSTREAM_REDIS__URL": settings.redis.url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from agents.cli import main; main()", "support", "classify",
        str(path), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    lines = [orjson.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert proc.returncode is not None
    return proc.returncode, lines, err.decode()


async def test_classify_answers_every_line_in_order(settings: Settings, tmp_path: Path) -> None:
    rows = read_jsonl("inquiries.test.jsonl")[::9]
    path = tmp_path / "inquiries.jsonl"
    lines = [orjson.dumps({"id": r["id"], "text": r["text"], "lang": r["lang"]}) for r in rows]
    lines.append(b'{"text": "card 4111 1111 1111 1111 was charged twice, I want a refund"}')
    path.write_bytes(b"\n".join(lines) + b"\n")

    code, answers, err = await classify(settings, path)

    assert code == 0, err
    assert [a["id"] for a in answers] == [r["id"] for r in rows] + [str(len(rows) + 1)]
    for a in answers:
        assert a["category"] in CATEGORIES, a
        assert a["urgency"] in URGENCIES, a
        assert 0 <= float(str(a["confidence"])) <= 1
        assert a["route"] in ("rules", "model", "combined")
    right = sum(a["category"] == r["category"] for a, r in zip(answers, rows, strict=False))
    print(f"\nclassify over Kafka: {right}/{len(rows)} categories as labelled")
    assert right >= 0.8 * len(rows)
    assert answers[-1]["category"] == "billing"


async def test_a_bad_line_is_refused_before_anything_is_sent(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "hello"}\n\n{"txt": "no text field"}\n')
    code, answers, err = await classify(settings, path)
    assert code == 2
    assert answers == []
    assert f"{path}:3: not an inquiry (text: Field required)" in err

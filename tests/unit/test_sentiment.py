"""Sentiment on held-out inquiries and on replies the model has not seen."""

import asyncio

import pytest

from agents.shared.datasets import read_jsonl
from agents.shared.sentiment import SentimentModel, sentiment, sentiments


def test_held_out_inquiries() -> None:
    rows = read_jsonl("inquiries.test.jsonl")
    scores = [(sentiment(r["text"]), r["sentiment"]) for r in rows]
    means = {
        label: sum(s for s, y in scores if y == label) / sum(y == label for _, y in scores)
        for label in (-1, 0, 1)
    }
    polar = [(s, y) for s, y in scores if y != 0]
    sign_right = sum((s > 0) == (y > 0) for s, y in polar) / len(polar)
    print(f"mean score by label: {means}; sign right on non-neutral: {sign_right:.3f}")
    assert means[-1] < means[0] < means[1]
    assert means[-1] <= -0.4
    assert sign_right >= 0.9


@pytest.mark.parametrize(
    ("text", "positive"),
    [
        ("Perfect, everything works now. Thanks a lot for your help!", True),
        ("Your refund is on its way, thank you for your patience.", True),
        ("谢谢,按照你们说的步骤已经好了!", True),
        ("This is ridiculous, I've been waiting for weeks and nobody helps.", False),
        ("Unfortunately we cannot offer a refund for this purchase.", False),
        ("太失望了,问题一直没解决", False),
    ],
)
def test_clear_replies_and_messages(text: str, positive: bool) -> None:
    score = sentiment(text)
    assert -1.0 <= score <= 1.0
    assert (score > 0.2) if positive else (score < -0.2)


def test_neutral_information_scores_near_zero() -> None:
    assert abs(sentiment("The invoice for April is attached to this email.")) < 0.5
    assert abs(sentiment("发票已经发送到您的邮箱。")) < 0.5


def test_train_on_own_examples() -> None:
    model = SentimentModel.train(
        [
            {"text": "great thanks love it", "sentiment": 1},
            {"text": "wonderful, thank you", "sentiment": 1},
            {"text": "terrible awful broken", "sentiment": -1},
            {"text": "awful, hate it", "sentiment": -1},
            {"text": "invoice attached", "sentiment": 0},
            {"text": "order shipped today", "sentiment": 0},
        ]
    )
    assert model.score("love it, thanks") > 0 > model.score("awful and broken")


async def test_scores_of_concurrent_calls_match_one_at_a_time() -> None:
    texts = ["This is terrible, I want my money back", "Thanks, that fixed it!", "退款还没到账"]
    together = await asyncio.gather(*(sentiments([t]) for t in texts))
    assert [s for (s,) in together] == [sentiment(t) for t in texts]
    assert await sentiments(texts) == [sentiment(t) for t in texts]

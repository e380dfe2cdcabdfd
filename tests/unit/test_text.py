"""Text tools: cleaning, language detection and tokens for both languages."""

import pytest

from agents.shared.text import MAX_CHARS, clean, detect_lang, tokenize


def test_clean_normalises_width_controls_and_whitespace() -> None:
    # Full-width letters and digits are what Chinese input methods often produce.
    text = "  Ｏｒｄｅｒ\u3000１２３\x00\u200b is\t\n late  "  # noqa: RUF001
    assert clean(text) == "Order 123 is late"


def test_clean_caps_length() -> None:
    assert len(clean("a" * (MAX_CHARS + 50))) == MAX_CHARS


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("How do I reset my password?", "en"),
        ("怎么重置密码", "zh"),
        ("我的invoice还没收到", "zh"),  # Chinese with an English word
        ("My order 订单 is late", "en"),  # English with a Chinese word
        ("A-10023 / 2024-05-03", "en"),
        ("", "en"),
    ],
)
def test_detect_lang(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


def test_english_tokens_are_lowercase_stemmed_without_stopwords_or_punctuation() -> None:
    assert tokenize("Hi! I was CHARGED twice, and the charges show as pending.") == [
        "charg",
        "twic",
        "charg",
        "show",
        "pend",
    ]


@pytest.mark.parametrize(
    "forms", [("refund", "refunds", "refunded"), ("crash", "crashes", "crashed", "crashing")]
)
def test_inflections_share_a_token(forms: tuple[str, ...]) -> None:
    assert len({tuple(tokenize(f, "en")) for f in forms}) == 1


def test_chinese_is_segmented_into_words() -> None:
    tokens = tokenize("您好，我的订单还没发货，请问怎么退款？")
    assert "订单" in tokens
    assert "退款" in tokens
    assert "发货" in tokens
    assert not {"您好", "我", "的", "\uff0c", "\uff1f"} & set(tokens)


def test_latin_words_in_chinese_text_are_kept_unstemmed() -> None:
    tokens = tokenize("App上传video一直fail", "zh")
    assert {"app", "video", "fail"} <= set(tokens)
    assert "上传" in tokens


def test_nothing_but_punctuation_gives_no_tokens() -> None:
    assert tokenize("?!... \uff0c\u3002\uff01") == []

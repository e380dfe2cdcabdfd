"""Text tools shared by the classifier, retrieval and sentiment models.

Customer text arrives in English, Simplified Chinese or a mix of both ("我的invoice还没到").
Tokens are taken per script run: Han runs go through jieba, Latin runs become lowercase
word tokens, so mixed text needs no up-front decision. Jieba loads its dictionary (about a
second) the first time Chinese text is seen, once per process.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import Literal

import jieba

MAX_CHARS = 8000  # the longest Inquiry.text the schemas accept

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_SPACES = re.compile(r"\s+")
# Share of Han characters among letters above which a text is Chinese. One Han character
# carries about as much as a short English word, so a Chinese sentence with a few English
# product words ("App", "invoice") still counts as Chinese.
_ZH_RATIO = 0.2

_EN_STOPWORDS_TEXT = """
    a an the and or but if then so of to in on at by for with from as is are was were be
    been being am do does did i me my we our you your he she it its they them their this
    that these those there here what which who whom will would shall should can could may
    might must have has had having just also very really too please hi hello hey dear
    thanks thank regards about into than s t d ll m re ve"""
_ZH_STOPWORDS_TEXT = """
    的 了 吗 呢 吧 啊 呀 哦 嗯 和 与 及 或 是 在 就 都 也 还 又 而 被 把 给 让 对 从 向 这 那
    这个 那个 一个 一下 我 我们 你 你们 您 他 她 它 他们 请 请问 您好 你好 谢谢 麻烦 一 个 之 其
    么 着 过 等"""
_STOPWORDS = frozenset(_EN_STOPWORDS_TEXT.split()) | frozenset(_ZH_STOPWORDS_TEXT.split())

_jieba_lock = threading.Lock()
_jieba_ready = False


def clean(text: str) -> str:
    """Normalise what a customer typed: NFKC (full-width letters and digits, common in Chinese
    input methods, become ASCII), control and format characters removed,
    whitespace collapsed, at most ``MAX_CHARS`` characters."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return _SPACES.sub(" ", text).strip()[:MAX_CHARS]


def detect_lang(text: str) -> Literal["en", "zh"]:
    """``"zh"`` when Han characters make up a fair share of the letters, else ``"en"``
    (also for text with no letters at all)."""
    han = len(_CJK.findall(text))
    if han == 0:
        return "en"
    latin = len(_LATIN_LETTER.findall(text))
    return "zh" if han / (han + latin) >= _ZH_RATIO else "en"


def tokenize(text: str, lang: Literal["en", "zh"] | None = None) -> list[str]:
    """Lowercase content tokens, without punctuation or stopwords.

    ``lang`` (detected when omitted) decides how Latin words are treated: in English text
    they are stemmed lightly ("refunds", "refunded" -> "refund"); in Chinese text they are
    mostly product names and codes ("iOS", "API") and stay as written, lowercased.
    """
    text = clean(text)
    stem = (lang or detect_lang(text)) == "en"
    tokens: list[str] = []
    for run in _RUNS.findall(text):
        if _CJK.match(run):
            tokens.extend(w for w in _segment(run) if w not in _STOPWORDS)
            continue
        word = run.lower()
        if word in _STOPWORDS:
            continue
        tokens.append(_stem(word) if stem else word)
    return tokens


def _stem(word: str) -> str:
    """A light suffix stripper: enough to make "charge", "charged", "charges" and
    "charging" one token, without a stemming library."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) >= 5 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "stopped" -> "stopp" -> "stop"
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def _segment(run: str) -> list[str]:
    global _jieba_ready
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return [w for w in jieba.lcut(run) if w.strip()]

"""Which words of an inquiry a knowledge-base entry does not account for.

Two measures. Words no entry is about are mostly context ("we are a small animal
shelter, do you have nonprofit discounts?"); words that name another entry's topic
change the question ("student" against the entry for schools).

An entry that shares an inquiry's topic words may still be about something else: "Do you
have a student discount?" names a discount, and the entry about schools explains
"discount" but not "student". The share of the inquiry's content words (weighted by how
rare they are, idf) that neither the entry nor the generic vocabulary of questions
accounts for says how much of the question the entry leaves unanswered.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agents.shared.text import tokenize
from agents.support.entry_checks import EntryChecks
from schemas.support import Lang

# Words any question may carry whatever its topic: they need no explaining by an entry.
_GENERIC_EN = """
    how where when why what which who whose whom whether can could would should may might
    help question questions ask asked asking know tell want wanted need needed like get got
    getting use using used able way ways possible thing things anyone someone something
    anything everyone everybody everything nothing nobody ok okay yes no sorry quick wonder
    wondering curious now today yesterday tomorrow week weeks day days time times month
    months year years hour hours minute minutes morning night ever still again already just
    also even since last next new old one two three first second please thank thanks hi
    hello hey dear team support customer service acme cloud acmecloud app account my i me
    there anybody really actually maybe currently right same different other another does
    did do done go going come find make made see seen look looking try tried trying work
    working wrong issue issues problem problems matter happen happened happening mean said
    say says after before during while until immediately soon later often always never
    sometimes usually every each all any some many much more most less few lot lots bit
    little very quite too enough only also either neither both about around over under up
    down out off in on at into onto through again back away here anyway though although
    because since so then than therefore however instead otherwise else etc via per
    give gives given take takes taken put keep keeps let lets seem seems feel think guess
    long far soon cost costs price prices
    hope sure clear able unable way good great fine bad best better thing stuff kind sort
    handle handled deal dealt sort sorted fix fixed
    i'm i've i'd i'll we're we've we'd we'll it's that's there's what's where's who's
    don't doesn't didn't can't won't isn't aren't wasn't weren't haven't hasn't couldn't
    wouldn't shouldn't let's you're you've kb mb gb tb
"""
_GENERIC_ZH = """
    请问 问 问题 想 想要 知道 一下 可以 能 能够 怎么 怎么办 如何 怎样 什么 为什么 吗 呢 吧
    帮忙 帮 谢谢 你们 我们 我 您 现在 今天 昨天 明天 已经 还是 是否 需要 应该 有 没有 多久
    时候 什么时候 哪 哪里 哪个 哪些 一直 总是 还 再 又 要 会 得 去 来 做 用 使用 看 看到
    客服 你好 您好 麻烦 请 急 谢 啊 呀 哈 嗯 了 的 是 不 没 就 都 也 很 太 挺 真的 一个 这个
    那个 这样 那样 情况 事情 东西 acme cloud 账号 账户 app 软件 应用 刚刚 刚才 最近 之前
    以前 之后 以后 后来 然后 马上 立刻 一些 有些 所有 全部 每个 各个 分别 几个 多少 一点
    上 下 里 中 前 后 内 外 时 时间 天 周 星期 月 年 小时 分钟 早上 晚上 上午 下午 一次
    老是 经常 有时 总 该 应 能否 可否 可能 也许 好像 似乎 到底 究竟 其实 只是 只 就是
    方法 办法 处理 解决 弄 搞 整 操作 的话 如果 但是 可是 不过 因为 所以 而且 并且 或者
    一张 一个 两个 三个 一份 一笔 一台 这种 那种 哪种 带 给 把 被 让 跟 和 与 对 向 从
    只想 只是 只要 就想 想问 想知道 希望 打算 准备 是不是 有没有 能不能 可不可以 行不行
    一般 大概 左右 之类 等等 相关 具体 正常 确实 特别 非常 比较 有点 一下子 直接 自己
"""


@dataclass(frozen=True, slots=True)
class Unexplained:
    """What an entry leaves unaccounted for of an inquiry: the share of its content
    words' weight (``share``), the share of words that name *another* entry's topic
    (``elsewhere``: "student" against the schools entry names the students entry), and
    the words, heaviest first."""

    share: float
    elsewhere: float
    words: list[str]
    # The share its answer text (title, question, answer, steps) does not contain: an
    # entry recognised by its keywords may still not say what was asked.
    unanswered: float = 0.0
    # Names no entry and no training text contains ("OIDC", "X200"): something the
    # knowledge base does not know, so no entry can be said to answer about it.
    unknown: tuple[str, ...] = ()


class Vocabulary:
    """Word weights (idf over the entries and ``background`` texts), the generic words
    of questions in both languages, and which entries' topics each word names."""

    def __init__(self, entries: Sequence[EntryChecks], background: Iterable[tuple[str, Lang]]):
        self._generic = frozenset(tokenize(_GENERIC_EN, "en")) | frozenset(
            tokenize(_GENERIC_ZH, "zh")
        )
        self._idf = _idf([c.entry.text for c in entries], background)
        self._idf_max = max(self._idf.values(), default=1.0)
        self._topics: dict[str, set[str]] = {}
        for checks in entries:
            for word in checks.topic_words:
                self._topics.setdefault(word, set()).add(checks.entry.id)

    def unexplained(
        self, tokens: Iterable[str], checks: EntryChecks, names: frozenset[str] = frozenset()
    ) -> Unexplained:
        """What ``checks``' entry leaves unexplained of ``tokens``; ``names``: the tokens
        that look like names or codes (upper case, digits, Latin words in Chinese)."""
        weights = {
            t: self._idf.get(t, self._idf_max)
            for t in set(tokens)
            if not t.isdigit() and t not in self._generic
        }
        total = sum(weights.values())
        if not total:
            return Unexplained(0.0, 0.0, [])
        missing = {t: w for t, w in weights.items() if not checks.explains(t)}
        mine = checks.entry.id
        elsewhere = sum(w for t, w in missing.items() if self._topics.get(t, {mine}) - {mine})
        words = sorted(missing, key=lambda t: -missing[t])
        unanswered = sum(w for t, w in weights.items() if not checks.answers(t))
        unknown = tuple(t for t in words if t in names and t not in self._idf)
        return Unexplained(
            sum(missing.values()) / total, elsewhere / total, words, unanswered / total, unknown
        )


def _idf(entries: Sequence[str], background: Iterable[tuple[str, Lang]]) -> dict[str, float]:
    """Inverse document frequency over the entries' texts and ``background`` texts."""
    docs = [set(tokenize(text)) for text in entries]
    docs += [set(tokenize(text, lang)) for text, lang in background]
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(doc)
    n = len(docs) + 1
    return {t: math.log(n / (1 + c)) + 1.0 for t, c in counts.items()}

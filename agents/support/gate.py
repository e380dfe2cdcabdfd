"""The answer gate: does this knowledge-base entry answer *this* question?

A high retrieval score says an entry shares the inquiry's words. That is not enough: a
wrong confident answer costs a customer more than an escalation. The gate answers only
when every check below holds, and otherwise escalates with the reason:

1. Nothing needs a person whatever the topic (:attr:`Signals.needs_person`): critical
   harm (outage, security, money taken wrongly, safety, legal), the customer's own
   access, the status of their own case, a request to act on their account.
2. A question about a kind of product the company does not sell gets the catalogue's
   answer ("we do not sell X; here is what we offer"), not another product's entry.
3. The entry (the best hit at ``threshold`` or above) covers:
   - every product the inquiry names (catalogue.json);
   - a term of each of its ``requires`` groups, not negated ("do not want to cancel"
     fails an entry about cancelling; "already cancelled" fails a how-to; "cannot
     cancel" fails anything but troubleshooting);
   - the kind of question: a fault report needs a troubleshooting entry;
   - the inquiry's content words: the share of their weight (idf) that neither the
     entry nor the generic vocabulary of questions explains stays below ``unexplained``
     ("student discount" is not explained by an entry about schools).
4. A follow-up that fails on its own text is tried once more together with the
   customer's previous turn; a self-contained question is judged on its own text only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from agents.shared.retrieval import Hit, KBEntry, KnowledgeBase
from agents.shared.terms import Terms
from agents.shared.text import clean, tokenize
from agents.support import signals as sig
from agents.support.catalogue import Catalogue
from schemas.support import Category, Lang, Queue, Urgency

Outcome = Literal["answer", "not_sold", "escalate"]

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
    hope sure clear able unable way good great fine bad best better thing stuff kind sort
    handle handled deal dealt sort sorted fix fixed
    i'm i've i'd i'll we're we've we'd we'll it's that's there's what's where's who's
    don't doesn't didn't can't won't isn't aren't wasn't weren't haven't hasn't couldn't
    wouldn't shouldn't let's you're you've
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
"""

CRITICAL_QUEUES: dict[str, Queue] = {
    "security": "security",
    "money": "billing",
    "outage": "technical",
    "safety": "technical",
    "legal": "complaints",
}
ACTION_QUEUES: dict[str, Queue] = {
    "duplicate_charge": "billing",
    "refund_status": "billing",
    "resend_invoice": "billing",
    "cancel_renewal": "billing",
    "change_plan": "billing",
    "update_billing_address": "billing",
    "order_status": "general",
    "stop_reminders": "general",
}
CATEGORY_QUEUES: dict[Category, Queue] = {
    "faq": "general",
    "general": "general",
    "billing": "billing",
    "technical": "technical",
    "complaint": "complaints",
    "sales": "sales",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with an inquiry. ``answer``: with ``hit``; ``not_sold``: the catalogue's
    answer for ``not_sold`` names; ``escalate``: to ``queue`` at ``urgency`` (None: the
    router's), because of ``reason``."""

    outcome: Outcome
    reason: str
    queue: Queue
    hit: Hit | None = None
    not_sold: tuple[str, ...] = ()
    urgency: Urgency | None = None
    action: str | None = None


class Gate:
    def __init__(
        self,
        kb: KnowledgeBase,
        catalogue: Catalogue,
        threshold: float,
        unexplained: float = 0.34,
        background: Iterable[tuple[str, Lang]] = (),
    ) -> None:
        self.kb = kb
        self.catalogue = catalogue
        self.threshold = threshold
        self.unexplained = unexplained
        self._generic = frozenset(tokenize(_GENERIC_EN, "en")) | frozenset(
            tokenize(_GENERIC_ZH, "zh")
        )
        self._entries = {e.id: _Checks(e, catalogue) for e in kb.entries}
        self._idf = _idf([e.text for e in kb.entries], background)

    def decide(
        self, text: str, lang: Lang, category: Category, earlier: Sequence[str] = ()
    ) -> Verdict:
        """The verdict for ``text`` (masked), routed to ``category``; ``earlier``: the
        customer's previous turns, oldest first, for a follow-up."""
        lowered = clean(text).lower()
        signals = sig.read(lowered, lang)
        queue = _queue(category, signals)
        why = signals.needs_person
        if why:
            urgency: Urgency | None = "critical" if signals.critical else None
            return Verdict("escalate", why, queue, urgency=urgency, action=signals.action)
        mentions = self.catalogue.mentions(lowered)
        if mentions.not_sold and not mentions.sold:
            return Verdict(
                "not_sold", "a product we do not sell", queue, not_sold=mentions.not_sold
            )
        verdict = self._judge(lowered, lang, signals, queue)
        if verdict.outcome == "escalate" and earlier and signals.follow_up:
            context = clean(earlier[-1]).lower()
            combined = self._judge(f"{context} {lowered}", lang, signals, queue)
            if combined.outcome == "answer":
                return combined
        return verdict

    def _judge(self, lowered: str, lang: Lang, signals: sig.Signals, queue: Queue) -> Verdict:
        mentions = self.catalogue.mentions(lowered)
        refused: dict[str, str] = {}

        def allowed(entry: KBEntry) -> bool:
            why = self._entries[entry.id].refuses(lowered, mentions.sold, signals)
            if why is not None:
                refused[entry.id] = why
            return why is None

        hits = self.kb.search(lowered, lang=lang, k=1, allowed=allowed)
        if hits and hits[0].score >= self.threshold:
            hit = hits[0]
            why = self._unexplained(set(tokenize(lowered, lang)), hit.entry)
            if why is None:
                return Verdict("answer", f"{hit.entry.id} at {hit.score:.2f}", queue, hit=hit)
            return Verdict("escalate", f"{hit.entry.id} does not answer it: {why}", queue)
        best = f"{hits[0].score:.2f} ({hits[0].entry.id})" if hits else "none"
        reason = f"best entry allowed {best} below {self.threshold:.2f}"
        (top,) = self.kb.search(lowered, lang=lang, k=1) or (None,)
        if top is not None and top.entry.id in refused:
            reason += f"; {top.entry.id} does not answer it: {refused[top.entry.id]}"
        return Verdict("escalate", reason, queue)

    def _unexplained(self, tokens: set[str], entry: KBEntry) -> str | None:
        checks = self._entries[entry.id]
        weights = {t: self._idf.get(t, self._idf_max) for t in tokens if not t.isdigit()}
        weights = {t: w for t, w in weights.items() if t not in self._generic}
        total = sum(weights.values())
        if not total:
            return None
        missing = {t: w for t, w in weights.items() if not checks.explains(t)}
        share = sum(missing.values()) / total
        if share <= self.unexplained:
            return None
        words = ", ".join(sorted(missing, key=lambda t: -missing[t])[:3])
        return f"{share:.0%} of the question is about something else ({words})"

    @property
    def _idf_max(self) -> float:
        return max(self._idf.values(), default=1.0)


class _Checks:
    """One entry's part of the gate: its products, kinds, term groups, vocabulary."""

    def __init__(self, entry: KBEntry, catalogue: Catalogue) -> None:
        self.entry = entry
        self.products = catalogue.expand(entry.products) - catalogue.umbrella
        self.kinds = frozenset(entry.kinds)
        self.groups = [Terms.of(group) for group in entry.requires]
        words = " ".join((entry.text, *entry.steps, *(t for g in entry.requires for t in g)))
        self.vocabulary = frozenset(tokenize(words.replace("*", ""), entry.lang))
        self._han_words = [w for w in self.vocabulary if _is_han(w) and len(w) > 1]

    def explains(self, token: str) -> bool:
        """Whether the entry accounts for ``token``: it is one of the entry's words, or,
        for Chinese, shares a word with it either way ("试用期" and "试用"; word
        segmentation splits the same phrase differently in different sentences)."""
        if token in self.vocabulary:
            return True
        if not _is_han(token):
            return False
        return any(w in token or (token in w and len(token) > 1) for w in self._han_words)

    def refuses(self, lowered: str, products: frozenset[str], signals: sig.Signals) -> str | None:
        """Why the entry does not answer the inquiry, or None."""
        if self.entry.products and not products <= self.products:
            return f"it is about {', '.join(sorted(products - self.products))}"
        for terms in self.groups:
            why = self._group(lowered, terms)
            if why:
                return why
        if "fix" in signals.kinds and "fix" not in self.kinds and self.kinds:
            return "a fault report, and the entry is not troubleshooting"
        return None

    def _group(self, lowered: str, terms: Terms) -> str | None:
        matches = terms.find(lowered)
        if not matches:
            return "none of its topic words"
        kinds: list[str] = []
        for m in matches:
            negated = sig.negation(lowered, m.start, m.end)
            if negated is None or not self._refused_by(negated):
                return None
            kinds.append(f"{negated} {lowered[m.start : m.end]!r}")
        return "negated: " + ", ".join(kinds)

    def _refused_by(self, negated: sig.Negation) -> bool:
        if negated == "volition":
            return True
        if negated == "plain":
            return "fix" not in self.kinds
        return "fix" not in self.kinds and "howto" in self.kinds  # done


def _is_han(token: str) -> bool:
    return "\u3400" <= token[:1] <= "\u9fff"


def _queue(category: Category, signals: sig.Signals) -> Queue:
    if signals.access:
        return "security"
    if signals.critical:
        return CRITICAL_QUEUES[signals.critical]
    if signals.action:
        return ACTION_QUEUES[signals.action]
    return CATEGORY_QUEUES[category]


def _idf(entries: Sequence[str], background: Iterable[tuple[str, Lang]]) -> dict[str, float]:
    """Inverse document frequency over the entries' texts and ``background`` texts."""
    docs = [set(tokenize(text)) for text in entries]
    docs += [set(tokenize(text, lang)) for text, lang in background]
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(doc)
    n = len(docs) + 1
    return {t: math.log(n / (1 + c)) + 1.0 for t, c in counts.items()}

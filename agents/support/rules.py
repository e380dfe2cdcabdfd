"""The router's rules: English and Chinese patterns that give a category guess and an
urgency, each with a confidence, before any model is asked.

A pattern has a weight, the probability that an inquiry matching it belongs to its
category. The evidence for a category is the noisy-OR of its matched weights
(``1 - prod(1 - w)``); the guess is the category with the most evidence, and its
confidence is that evidence reduced by half the runner-up's (two categories pulling
apart make the rules less sure). Rules only ever *guess*: the router asks the model
whenever the confidence is below ``settings.support.rules_confidence``, so the weights
are kept high only for patterns that are nearly always right on the training split.

Urgency works the other way round: the most urgent level any pattern matches wins
(``None`` when nothing matched), because missing a critical outage costs more than
treating a normal request as urgent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.support import URGENCIES, Category, Urgency

# (category, pattern, weight). Patterns are matched on lowercased text; English words
# are bounded, Chinese phrases are not (Chinese has no spaces).
_CATEGORY_PATTERNS: tuple[tuple[Category, str, float], ...] = (
    # billing
    ("billing", r"\brefund(s|ed|ing)?\b", 0.85),
    ("billing", r"\b(charged|double[- ]charged|overcharged|charge(s)? on my)\b", 0.8),
    ("billing", r"\b(invoice|invoices|receipt|billing|billed)\b", 0.75),
    ("billing", r"\b(payment|credit card|card was declined)\b", 0.6),
    ("billing", r"退款|退钱|扣款|扣费|多扣|重复扣|发票|账单|收据", 0.85),
    ("billing", r"付款|支付失败|支付|续费|信用卡", 0.6),
    # technical
    ("technical", r"\b(crash(es|ed|ing)?|freez(es|ing)|froze)\b", 0.85),
    ("technical", r"\b(error|exception|stack trace|500|404|timeout|times out)\b", 0.7),
    ("technical", r"\b(not (working|loading|syncing)|won'?t (load|open|start|sync))\b", 0.7),
    ("technical", r"\b(api|sdk|webhook|integration|login fails?|cannot log ?in)\b", 0.55),
    ("technical", r"闪退|崩溃|报错|错误代码|卡死|白屏|无法登录|登录不了|打不开|加载不出", 0.85),
    ("technical", r"故障|bug|接口|同步失败|超时", 0.65),
    # complaint
    ("complaint", r"\b(legal action|sue you|take you to court)\b", 0.85),
    ("complaint", r"\b(lawyer|attorney)\b", 0.65),
    ("complaint", r"\b(unacceptable|outrageous|ridiculous|disgusting|appalling)\b", 0.85),
    ("complaint", r"\b(complain(t|ts|ing)?|worst|terrible|awful|fed up|rude)\b", 0.8),
    ("complaint", r"\b(disappointed|never (again|buying)|waste of (money|time))\b", 0.65),
    ("complaint", r"投诉|起诉|消协|太差|垃圾|恶心|态度恶劣|不可接受|忍无可忍", 0.85),
    ("complaint", r"律师", 0.65),
    ("complaint", r"失望|不满|差评|骗子|坑人|受不了|踢来踢去|没人负责", 0.7),
    ("complaint", r"\b(on hold for|been ignored|nobody (answers|responds|replies))\b", 0.7),
    # sales
    ("sales", r"\b(pricing|price list|quotation|enterprise plan|volume discount)\b", 0.8),
    ("sales", r"\b(price quote|quote for)\b", 0.7),
    ("sales", r"\b(resell(ing|er)?|distribut(e|or|ing|ion)|oem)\b", 0.65),
    ("sales", r"分销|经销", 0.65),
    ("sales", r"\b(demo|trial|upgrade to|buy|purchase|bulk order|reseller)\b", 0.6),
    ("sales", r"报价|企业版|批量采购|试用|演示|代理商", 0.7),
    ("sales", r"折扣|优惠|价格|购买", 0.5),
    # faq
    ("faq", r"\b(how (do|can) i|where (can|do) i|what is|is it possible to)\b", 0.55),
    ("faq", r"\b(reset (my )?password|change (my )?(email|address)|delivery time)\b", 0.7),
    ("faq", r"如何|怎么|怎样|在哪里|是否支持|多久", 0.55),
    ("faq", r"重置密码|修改密码|修改地址|发货时间|配送时间", 0.7),
    # general
    ("general", r"\b(thank(s| you)|feedback|suggestion|partnership|press)\b", 0.55),
    ("general", r"谢谢|感谢|建议|合作|媒体", 0.55),
    ("general", r"\b(just (want|wanted) to say|keep up the good work|kudos|shout[- ]?out)\b", 0.7),
    ("general", r"夸夸|点赞|表扬|太给力", 0.7),
)

_URGENCY_PATTERNS: tuple[tuple[Urgency, str], ...] = (
    ("critical", r"down for (all|every)|all (our )?users|production (is )?down|site is down"),
    ("critical", r"\b(asap|emergency|right now)\b|全部用户|所有用户|全线|宕机"),
    ("critical", r"(请|要|必须)?马上(处理|解决|给|回复|停)|立刻|紧急"),
    ("high", r"(?<!not )\burgent(ly)?\b|\blawyer\b|\btoday\b|\bdeadline\b"),
    ("high", r"尽快|(?<!不)着急|急用|今天|律师"),
    ("high", r"\b(losing (money|customers|sales)|blocked|can'?t work(?! out))\b|无法工作|损失"),
    ("low", r"\b(no rush|just curious|not urgent|when you have time)\b"),
    ("low", r"不着急|不急|有空|随便问问|顺便问"),
)

_CATEGORY_RE = tuple((c, re.compile(p), w) for c, p, w in _CATEGORY_PATTERNS)
_URGENCY_RE = tuple((u, re.compile(p)) for u, p in _URGENCY_PATTERNS)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What the rules make of one text. ``category`` is ``None`` when nothing matched
    (confidence 0); ``urgency`` is ``None`` when no urgency pattern matched."""

    category: Category | None
    confidence: float
    urgency: Urgency | None
    evidence: dict[Category, float]


def apply(text: str) -> RuleResult:
    """The rules' guess for ``text`` (already cleaned and masked)."""
    lowered = text.lower()
    misses: dict[Category, float] = {}
    for category, pattern, weight in _CATEGORY_RE:
        if pattern.search(lowered):
            misses[category] = misses.get(category, 1.0) * (1.0 - weight)
    evidence = {c: round(1.0 - m, 4) for c, m in misses.items()}
    return RuleResult(*_guess(evidence), urgency(lowered), evidence)


def _guess(evidence: dict[Category, float]) -> tuple[Category | None, float]:
    if not evidence:
        return None, 0.0
    ranked = sorted(evidence.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return best, round(max(0.0, top - runner_up / 2), 4)


def urgency(text: str) -> Urgency | None:
    """The most urgent level whose pattern matches ``text`` (lowercased), or ``None``."""
    found: Urgency | None = None
    for level, pattern in _URGENCY_RE:
        if pattern.search(text) and (found is None or rank(level) > rank(found)):
            found = level
    return found


def rank(level: Urgency) -> int:
    """``low`` 0 ... ``critical`` 3."""
    return URGENCIES.index(level)


def most_urgent(*levels: Urgency | None) -> Urgency:
    """The highest of ``levels`` (``normal`` when none is given)."""
    given = [lv for lv in levels if lv is not None]
    return max(given, key=rank) if given else "normal"

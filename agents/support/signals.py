"""What an inquiry's words say beyond its topic, in English and Chinese.

A knowledge-base entry can share every topic word with an inquiry and still not answer
it. These signals are what the answer gate (:mod:`agents.support.gate`) checks besides
the topic:

* ``kinds``: how-to, information or fault report (``howto``, ``info``, ``fix``);
* ``status``: the state of the customer's own case ("my refund has not arrived",
  "订单到哪了"): only a person (or, later, a tool) can look it up;
* ``request``: the customer asks us to do something on their account ("please cancel
  my plan", "帮我退款"), with the ``action`` it names when it is a known one;
* ``access``: the customer's own access is blocked beyond what self-service fixes
  (the e-mail or phone the account needs is gone);
* ``critical``: harm happening now: an outage, a security breach, money taken wrongly,
  a safety hazard, legal action;
* ``follow_up``: the text may lean on the conversation ("and how long does that
  take?", "那Pro呢？");
* what the question is after: a number, a price, a thing to buy from us, our software
  for a device.

What needs a person is in :mod:`agents.support.needs`; whether a term is negated, in
:mod:`agents.support.negation`.

Patterns are matched on cleaned, lowercased, masked text. They are written to be read:
one list per signal and language, each line one way of saying it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agents.shared.terms import any_of as _any
from agents.shared.text import tokenize
from agents.support import needs
from agents.support.needs import Critical
from schemas.support import Lang

Kind = Literal["howto", "info", "fix"]

_HOWTO = _any(
    r"\bhow (do|can|could|would|should|to|does one|does it work)\b",
    r"\bwhere (do|can|could|should) (i|we)\b|\bwhere (is|are) the (option|setting|button)",
    r"\b(is there a way|is it possible|what('s| is) the (best )?way|steps? to|instructions?)\b",
    r"\b(can|could|may) (i|we)\b|\bdo (i|we) (need|have) to\b",
    r"怎么|怎样|如何|咋|在哪|哪里(可以|能)|能不能|可不可以|可以.{0,8}吗|步骤|教程|方法",
)
_INFO = _any(
    r"\b(what|which|when|why|whether)\b|\bhow (long|much|many|far|often|soon)\b",
    r"\b(do|does|did|are|is|will|would|can|could) (you|it|they|the|your|there|this|that|my|i)\b",
    r"多久|多少|什么|哪些|哪个|是否|有没有|吗|为什么|会不会|是不是|支持|能否",
)
_FIX = _any(
    r"\b(error|errors|fail\w*|crash\w*|bug|bugs|broken|stuck|freez\w*|froze|glitch\w*)\b",
    r"(\bnot|\bnever|n't|\bstopped|\bstops|\bkeeps?) (work|load|sync|show|upload|pair|connect"
    r"|play|open|back|start|turn|respond|download|record|send|arriv|receiv|let|accept)\w*",
    r"\b(won'?t|can'?t|cannot|unable to|doesn'?t|isn'?t|aren'?t)\b",
    r"\b(offline|blank|black screen|slow\w*|laggy|lagging|blurry|red light|disconnect\w*)\b",
    r"\b(404|500|502|503|429|403|401)\b",
    r"\b(wasn'?t|weren'?t|isn'?t|aren'?t|hasn'?t been|haven'?t been|was not|were not|is not"
    r"|are not) (used|applied|counted|credited|deducted|taken into account|working|recognised"
    r"|recognized|accepted|showing|saved)\b",
    r"没(有)?(自动)?(抵扣|生效|到账|用上|扣除|保存|识别)",
    r"报错|错误|失败|闪退|崩溃|卡住|卡在|卡顿|打不开|登不上|不了|离线|掉线|断线|异常|黑屏|白屏|没反应",
    r"不工作|不同步|很慢|太慢|无法|不能|红灯|不显示|播放不|模糊|没有声音|连不上|收不到|用不了|不好使",
)

# "Can't find the setting" asks how, it reports no fault.
_LOST = _any(
    r"\b(can'?t|cannot|couldn'?t|unable to) (find|see|figure out|work out|locate)\b",
    r"\b(don'?t|do not|not sure) (know )?(how|where|what)\b",
    r"不知道(怎么|如何|在哪)|找不到(设置|选项|按钮|入口|在哪)",
)
# Words of faults that here name a feature or ask a question ("available offline",
# "能不能"): taken out before looking for a fault.
_FEATURE = _any(
    r"\b(available|access(ible)?|use|work|view|read|open) offline\b|\boffline (access|mode|files?"
    r"|use|copies|copy|folders?|viewing)\b",
    r"能不能|可不可以|行不行|离线(可用|文件|模式|查看|访问|使用|浏览|下载)|设成离线|设置成离线",
)

# Asking us for a thing to buy, or to repair one: about our catalogue, whatever else the
# message names ("do you sell a tracker that syncs to Acme Cloud?").
_BUYING = _any(
    r"\b(do|does) (you|acme|acme cloud) (sell|have|make|stock|carry|offer|do) (a|an|any|the|some"
    r"|one)?\b|\b(can|could|where can|may) (i|we) (buy|order|get|purchase)\b|\bsell me\b",
    r"\b(is|are) (the |a |an )?[\w -]{2,30} (in stock|available to buy|for sale)\b|\bin stock\b",
    r"\brecommend (one of )?your\b|\b(is there|are there) (an? )?acme\b|\bdoes acme make\b",
    r"\b(repair|fix|replace) (my|a|the)\b.{0,30}\b(for me|for us)\b|\bsend it to you for repair"
    r"|\bdo you (do|offer) .{0,20}repairs?\b",
    r"有卖|有没有卖|卖不卖|卖吗|有货|能买|可以买|在你们这(买|能修|修)|你们(这)?能修|以旧换新|哪里能买|有售",
)
# ... unless it is our software for that thing ("do you have an Apple Watch app?").
_SOFTWARE = _any(
    r"\b(app|apps|version|integration|plugin|client|widget|support for|work with|works with)\b",
    r"版|客户端|应用|插件|支持",
)
# A question after a number: an entry whose text gives none cannot answer it.
_QUANTITY = _any(
    r"\bhow (many|much|long|big|large|far|often|soon|fast)\b|\b(maximum|max|minimum|min|limit"
    r"|limits|up to how|cap|capacity|quota)\b",
    r"多少|多大|多久|多长|几个|几天|几次|最多|最少|上限|限制|多快",
)
# A question about what something costs: an entry with no price cannot answer it.
_PRICE = _any(
    r"\bhow much (is|are|does|do|would|will|for|to)\b|\b(price|prices|pricing|cost|costs)"
    r" (of|for)\b|\bwhat (does|do|would|will) .{0,30}\bcost\b",
    r"多少钱|价格|价钱|售价|报价|怎么卖|贵不贵",
)
_FOLLOW_START = _any(
    r"^(and|also|but|so|then|ok(ay)?|alright|what about|how about|what if|same (for|with)"
    r"|is that|does that|will that|would that|can that|why is that|how come)\b",
    r"^(那|那么|还有|然后|所以|这样的话|如果这样)",
)
_FOLLOW_REF = _any(
    r"\b(it|that|this|those|these|them|they|there)\b",
    r"这个|那个|它|这样|上面|刚才|之前|前面",
)
_FOLLOW_AGAIN = _any(
    r"\b(still|again|same (problem|issue)|as i said|any update|follow(ing)? up|it'?s back)\b",
    r"还是|仍然|依然|又|上次|进展|呢[?？]?$",
)
_PRONOUNS = frozenset(["it", "that", "this", "those", "these", "them", "they", "there"])


@dataclass(frozen=True, slots=True)
class Signals:
    kinds: frozenset[Kind]
    status: bool
    request: bool
    action: str | None
    access: bool
    critical: Critical | None
    follow_up: bool
    tried: bool = False
    grievance: bool = False
    quantity: bool = False
    price: bool = False  # asks what something costs
    buying: bool = False  # asks to buy (or repair) a thing from us, not software for it
    software: bool = False  # names our software for a thing ("an Apple Watch app")

    @property
    def needs_person(self) -> str | None:
        """Why no knowledge-base entry may answer, whatever its topic, or None."""
        if self.critical:
            return f"critical: {self.critical}"
        if self.tried:
            return "the customer already followed the documented steps"
        if self.grievance:
            return "a grievance, for a person to hear"
        if self.access:
            return "the customer's own account access"
        if self.status:
            return f"status of the customer's own case ({self.action or 'lookup'})"
        if self.request:
            return f"a request to act on the account ({self.action or 'other'})"
        return None


def read(lowered: str, lang: Lang) -> Signals:
    """The signals of ``lowered``: an inquiry's cleaned, masked, lowercased text."""
    kinds: set[Kind] = set()
    lost = _LOST.search(lowered) is not None
    plain = _FEATURE.sub(" ", _LOST.sub(" ", lowered) if lost else lowered)
    for kind, pattern in (("howto", _HOWTO), ("info", _INFO), ("fix", _FIX)):
        if pattern.search(plain):
            kinds.add(kind)  # type: ignore[arg-type]
    if lost:
        kinds.add("howto")
    status = needs.status(lowered)
    request = needs.request(lowered, asks_how="howto" in kinds)
    software = _SOFTWARE.search(lowered) is not None
    return Signals(
        kinds=frozenset(kinds),
        status=status,
        request=request,
        action=needs.action(lowered) if (status or request) else None,
        access=needs.access(lowered),
        critical=needs.critical(lowered),
        follow_up=is_follow_up(lowered, lang),
        tried=needs.tried(lowered),
        grievance=needs.grievance(lowered),
        quantity=_QUANTITY.search(lowered) is not None,
        price=_PRICE.search(lowered) is not None,
        buying=_BUYING.search(lowered) is not None and not software,
        software=software,
    )


_ASKS = _any(
    r"[?？]",
    r"\b(how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should)\b",
    r"吗|呢|怎么|怎样|如何|多少|多久|哪|几|什么|为什么|能否|是否|可以",
)


def asks(lowered: str) -> bool:
    """Whether the text asks something ("thanks!", "ok 明白了" do not)."""
    return _ASKS.search(lowered) is not None


def refers_back(lowered: str) -> bool:
    """Whether the text says it continues the conversation: it starts as a continuation
    ("and ...", "what about ...", "那...") or refers back ("still", "again", "还是",
    "...呢？")."""
    return bool(_FOLLOW_START.search(lowered) or _FOLLOW_AGAIN.search(lowered))


def is_follow_up(lowered: str, lang: Lang) -> bool:
    """Whether the text may lean on the conversation: it :func:`refers_back`, or it is
    two content words at most, or three with a pronoun ("is that free?", "how long?").
    Such a text is still judged on its own first: "are you hiring?" is short and
    complete."""
    if refers_back(lowered):
        return True
    content = [t for t in tokenize(lowered, lang) if t not in _PRONOUNS]
    return len(content) <= 2 or (len(content) <= 3 and _FOLLOW_REF.search(lowered) is not None)

"""Whether a term found in an inquiry is negated, in English and Chinese: wanted not to
happen ("I do not want to cancel", "不想取消"), impossible ("cannot cancel",
"取消不了") or already done ("already cancelled", "已经取消了"). An entry about
cancelling does not answer any of them (agents/support/entry_checks.py).
"""

from __future__ import annotations

import re
from typing import Literal

from agents.shared.terms import any_of as _any

Negation = Literal["volition", "plain", "done"]

_NEG_VOLITION = _any(
    r"\b(don'?t|do not|doesn'?t|does not|not|never|no) (want|wanna|wish|plan|mean|intend"
    r"|need|trying|looking|going)( to| on)?( \w+)?\s*$",
    r"\b(instead of|rather than|other than|without|apart from|except)\s+(\w+\s+){0,2}$",
    r"(不想|不要|并不想|不打算|而不是|不是要|不是想|不需要|无需|不用|别)(再|去|把|给|要)?$",
)
_NEG_PLAIN = _any(
    r"\b(not|never|no longer|can'?t|cannot|unable to|won'?t|doesn'?t|didn'?t|isn'?t|wasn'?t"
    r"|aren'?t|haven'?t|hasn'?t|don'?t|do not|did not|does not|will not|have not|has not)"
    r"( (be|been|get|got|have|had|able to|even|ever|yet|my|the|a|an|any))*\s*$",
    r"(不|没|没有|无法|不能|未|没法)(能|法|有|再|去|被|会)?$",
)
_DONE_BEFORE_EN = re.compile(r"\balready( \w+)?\s*$")
_DONE_AFTER_EN = re.compile(r"^\s+already\b")
_PAST_SUBJECT_EN = re.compile(
    r"\b(i|we|i'?ve|we'?ve|have|has|had|was|were|been|just|recently|already)( \w+)?\s*$"
)
_DONE_BEFORE_ZH = re.compile(r"(已经|已)(把|给|被)?$")
_DONE_AFTER_ZH = re.compile(r"^(过|好了|了|掉了|完了)")
# Only an action is "done" by a following 了: "已经取消了" is, "忘记密码了" is not about
# the password being done.
_ZH_ACTIONS = re.compile(
    r"取消|关闭|关掉|退|改|换|删|重置|设置|开启|打开|升级|降级|注销|备份|上传|同步|绑定|解绑|购买|买|下单"
    r"|付|支付|申请|提交|更新|安装|卸载|登录|退订|订阅|续费|转|发|寄"
)
# "Can't remember the password" is forgetting it, "can't find the setting" asking where
# it is: a negated verb of knowing is the question, not a negation of it.
_KNOWING = re.compile(
    r"(remember|recall|know|find|see|figure|locate|记得|记住|知道|找到|想起|找不到|记不)"
)
# A-not-A questions ("有没有", "能不能") ask; they do not negate.
_A_NOT_A = re.compile(
    r"(有没有|能不能|是不是|会不会|要不要|可不可以|行不行|用不用|需不需要|支不支持|可以不)$"
)
_WISH_BEFORE_ZH = re.compile(r"(想|要|打算|怎么|如何|怎样|能不能|可以)$")
_INABLE_AFTER_ZH = re.compile(r"^(不了|不掉|失败|不成)")


def negation(lowered: str, start: int, end: int) -> Negation | None:
    """How the term at ``lowered[start:end]`` is negated: ``volition`` (the customer
    does not want it: "do not want to cancel", "不想取消"), ``plain`` ("cannot cancel",
    "取消不了"), ``done`` ("already cancelled", "I cancelled", "已经取消了"), or None."""
    before = lowered[max(0, start - 40) : start]
    after = lowered[end : end + 12]
    if _A_NOT_A.search(before):
        return None
    if _NEG_VOLITION.search(before):
        return "volition"
    knowing = _KNOWING.match(lowered, start) is not None
    if not knowing and (_NEG_PLAIN.search(before) or _INABLE_AFTER_ZH.search(after)):
        return "plain"
    if _is_zh(lowered[start]):
        done = _DONE_BEFORE_ZH.search(before) or (
            _DONE_AFTER_ZH.search(after)
            and not _WISH_BEFORE_ZH.search(before)
            and _ZH_ACTIONS.search(lowered[start:end])
        )
    else:
        past = lowered[start:end].endswith("ed") and _PAST_SUBJECT_EN.search(before)
        done = _DONE_BEFORE_EN.search(before) or _DONE_AFTER_EN.search(after) or past
    return "done" if done else None


_UNWANTED = _any(
    r"\b(don'?t|do not|doesn'?t|does not|not|never|no) (want|wanna|wish|plan|mean|intend|need"
    r"|trying|looking|going)( to| on)? \w+\b",
    r"\b(instead of|rather than|other than|without|apart from|except) \w+\b",
    r"(不想|不要|并不想|不打算|而不是|不是要|不是想|不需要|无需|不用)(再|去|把|给|要)?[\u4e00-\u9fff]{1,2}",
)


def without_unwanted(lowered: str) -> str:
    """``lowered`` without what the customer says they do not want ("I don't want to
    cancel", "不想取消"): those words are not what they ask about."""
    return _UNWANTED.sub(" ", lowered)


def _is_zh(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"

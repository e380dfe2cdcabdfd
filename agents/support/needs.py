"""Phrases of inquiries that need a person whatever their topic, in English and Chinese:
the status of the customer's own case, a request to act on their account (and the
account task it names), their own access, critical harm, a grievance, a fault that
persists after the documented steps. The answer gate (agents/support/gate.py) escalates
these before it looks at any knowledge-base entry.

Patterns are matched on cleaned, lowercased, masked text. They are written to be read:
one list per signal and language, each line one way of saying it.
"""

from __future__ import annotations

from typing import Literal

from agents.shared.terms import any_of as _any

Critical = Literal["outage", "security", "money", "safety", "legal"]

_STATUS_PHRASE = _any(
    r"\b(has|have|had|did|does|do)(n'?t| not) (yet )?(arriv|come|came|show|receiv|got|get|been"
    r"|reach|land|appear|go through|clear|process|reflect)",
    r"\bnever (got|get|received|saw|see)\b",
    r"\b(not|never|still not|yet to|never been) (arrived|received|come through|shown up"
    r"|showed up|credited|refunded|delivered|processed|shipped|dispatched|back)\b",
    r"\bwhere('s| is| are) (my|our)\b|\b(status|progress|eta|update|news) (of|on|for) (my|our)\b",
    r"\bany (update|news)\b|\bstill (waiting|pending|processing|in transit)\b",
    r"\b(been|it'?s been|waited|waiting) (for )?(\d+|a|two|three|four|five|several|few|over a)"
    r" (business )?(days?|weeks?|months?)\b",
    r"\b(stuck|lost|delayed|held) (in|at) (transit|customs|the post|the warehouse)\b",
    r"\b(says|shows|marked( as)?) (it was |it's |as )?delivered\b|\btracking (hasn'?t|has not"
    r"|shows|says|still)\b|\bdid (you|it) (receive|get)\b",
    r"还没(有)?(到|收到|到账|退|发货|发出|处理|显示|寄|送)|没(有)?收到|迟迟|怎么还没|一直没",
    r"(什么时候|何时|多久)(能|才|可以|会)?(到|退|发货|寄|处理|送达|收到|给)|进度|到哪|状态",
    r"显示(已)?签收|已经\d+天|等了(\d+|好几|几|一)(天|周|个星期|个月)",
)
_STATUS_OBJECT = _any(
    r"\b(order\w*|parcel\w*|package\w*|deliver\w*|shipment\w*|shipping|refund\w*|money"
    r"|payment\w*|credit\w*|replacement\w*|return\w*|exchange\w*|ticket\w*|case|claim\w*"
    r"|repair\w*|reimburs\w*|chargeback\w*|funds|item\w*|purchase\w*|reward\w*|bonus\w*"
    r"|\d+ ?gb|points|voucher\w*|gift card\w*)\b",
    r"订单|包裹|快递|物流|货|退款|钱|款|工单|理赔|维修|换货|退货|保修|申请|商品|东西|奖励|积分|礼品卡",
)
_VERBS = (
    r"cancel|refund|stop|turn off|switch off|disable|change|update|send|resend|re-send"
    r"|remove|delete|close|switch|downgrade|upgrade|credit|reverse|process|issue|reactivate"
    r"|restore|unlock|waive|extend|ship|replace|unsubscribe|merge|transfer|move|apply|fix"
    r"|reissue|re-issue|erase|correct|amend|adjust|confirm|activate|enable|add|split|void"
    r"|contact|call|ring|email|e-mail|phone|text|get back to|reach out to"
)
_REQUEST_STRONG = _any(
    rf"\b(please|pls|plz|kindly)\s+(\w+\s+){{0,2}}?({_VERBS})\b",
    rf"\b(can|could|would|will) you\s+(please\s+|kindly\s+|just\s+)?({_VERBS}|give|check"
    r"|look into|look up|confirm|tell me (when|where|if|whether))\b",
    r"\b(refund|reimburse|credit) (me|us)\b|\bgive (me|us) (a |my |our |the )?(refund|money"
    r"|credit)\b|\b(want|need) (my|our) money back\b",
    r"\bi (want|need|demand|expect) (a |my |the |full )?(refund|money back|credit"
    r"|replacement|compensation)\b|\bi('d| would) like (a |my |the )?(refund|money back)\b",
    rf"^({_VERBS}) (my|our|the|all|this|that|it)\b|^(stop|quit) \w+ing\b",
    r"\b(have|get|let|ask) (a|an|your|some|one of your) (\w+ ){1,3}(to )?(call|contact|email|ring"
    r"|reach) (me|us)\b",
    r"\b(check|look up|look into|find out) (my|our|on my|on our|where my|whether my|if my)\b",
    r"帮我|帮忙|给我(退|开|发|补|换|取消|改|处理|查)|请(帮|给|把|尽快)|麻烦(你们|您)?(帮|给|把|尽快|处理)",
    r"我要(退款|退钱|取消|换货|退货|补发)|把(钱|款|费用)退|退(给|还)我|(马上|立刻|赶紧)(给|帮)?(我)?(退|取消|处理|关)",
    r"查(一下|查)?(我的|订单|退款)",
    r"(麻烦|请|劳驾).{0,4}(取消|退款|退钱|关闭|关掉|删除|注销|修改|更改|补发|重新发|开具|处理|核实|确认)",
)
# The customer did what the documented fix says and the fault is still there: the
# knowledge base has nothing more to give.
_TRIED = _any(
    r"\b(tried|followed|did|done|went through) (all|every|everything|each|the (steps|instructions"
    r"|troubleshooting|guide|article))\b|\btried (that|this|those|it) (already|before|twice)",
    r"\b(already|i've|i have|we've|we have) (tried|restarted|rebooted|reinstalled|reset|cleared"
    r"|updated|waited|checked|followed|power[- ]cycled)\b.{0,60}\b(still|again|no luck|nothing"
    r"|same|doesn'?t|didn'?t|won'?t|not)\b",
    r"(试过|都试了|按照|照着|等了|重启了|重启过|重装了|重装过|更新了|清了|检查了|已经).{0,24}"
    r"(还是|仍然|依然|照样|没用|没有用|不行|无效)",
    r"\b(even (with|after|though|when)|despite|in spite of)\b.{0,60}\b(still|error|fail\w*|return"
    r"\w*|get|gets|got|won'?t|doesn'?t|isn'?t|not)\b|\b(still|keeps?) \w+ing\b.{0,40}\beven (with"
    r"|after)\b",
    r"\b(error\w*|fail\w*|return\w*|\d{3})\b.{0,60}\beven (with|after|though|when)\b",
    r"\b(updated|restarted|rebooted|reinstalled|cleared|reset|tried|checked|unplugged|replugged"
    r"|power[- ]cycled)\b.{0,80}\b(still|again|no luck|nothing changed"
    r"|same (thing|error|problem))\b",
    r"^\W*(it'?s |its |it is |that'?s )?still (not|doesn'?t|won'?t|isn'?t|broken|the same|crash\w*"
    r"|fail\w*|no)\b|^\W*(didn'?t|did not|doesn'?t|does not) (help|work)\b",
    r"^\W*(还是|仍然|依然|照样|也)(不行|没用|一样|不可以|打不开|连不上|报错|没反应|不好使|没有用)",
    r"\bstill (says|shows|gives|getting|get|gets|won'?t|doesn'?t|can'?t|isn'?t|not|fail\w*"
    r"|crash\w*|the same|stuck|red|offline|broken|no)\b",
    r"(更新|重启|重装|清了|清除|检查|试)了?.{0,30}(还是|仍然|依然|照样)",
    r"(还是|仍然|依然|照样)(提示|显示|报错|报|不行|失败|没用|连不上|打不开|找不到|登不上|红灯|离线)",
    r"即使|哪怕|就算.{0,20}(还是|也|仍然)",
)
# A grievance asks to be heard, not informed: "nobody told me" is a complaint about a
# price change, not a question about how price changes are announced.
_GRIEVANCE = _any(
    r"\b(nobody|no one|noone|you never|you didn'?t|you did not) (told|tell|warned|warn|informed"
    r"|inform|notified|notify|asked|ask)\b|\bwithout (any )?(notice|warning|telling|asking"
    r"|consent|permission)\b",
    r"(没|没有|也没|也没有|从没|从来没)(提前)?(通知|告知|说一声|提醒|告诉|征求|问过)|不打招呼|招呼都不打",
)
# Asking for a person is a request too: the customer has told us who should answer.
_PERSON = _any(
    r"\b(speak|talk|chat|connect me|put me through)( to| with)? (a |an |some |your )?(human|person"
    r"|real person|real human|live (agent|person)|agent|representative|rep|someone|manager"
    r"|supervisor|operator)\b|\b(human|real person|live agent|representative|operator)"
    r",? (please|pls|now)\b|^(human|agent|operator|representative)[.!?]*$",
    r"转人工|人工客服|真人|找人工|人工服务|要人工|接人工|找你们(经理|主管|负责人)",
)
_REQUEST_WEAK = _any(
    r"\bi (want|need|wish|would like|'d like) to (cancel|stop|end|terminate|close|downgrade"
    r"|upgrade|switch|change|update|get rid of|turn off|remove)\b",
    r"我(想|要|希望)(要)?(退款|取消|关闭|注销|改成|换成|降级|升级|停止|关掉)",
)
# The account tasks a request or a status question can name, first match wins.
_ACTION_PATTERNS: dict[str, tuple[str, ...]] = {
    "duplicate_charge": (
        r"\b(charged|billed|debited|paid)\b.{0,25}\b(twice|two times|double|2x)\b",
        r"\b(double|duplicate)[- ](charge|payment|debit)",
        r"扣了?(两|2)次|重复(扣|付|收)|多扣|扣(费|款)?两次",
    ),
    "refund_status": (r"\brefund|money back|reimburs", r"退款|退钱|到账"),
    "order_status": (
        r"\b(order|parcel|package|deliver|shipment|tracking)",
        r"快递|包裹|订单|物流|发货",
    ),
    "stop_reminders": (r"\b(reminder|text message|texts|sms|notification)", r"提醒|短信|通知"),
    "cancel_renewal": (
        r"\b(cancel|turn off|stop|disable|end)\w*\b.{0,30}\b(renew|subscri|plan|membership)",
        r"(取消|关闭|关掉|停止).{0,8}(续费|订阅|套餐|会员)",
    ),
    "update_billing_address": (r"\b(billing|invoice)\w* address", r"(账单|发票)地址"),
    "resend_invoice": (r"\b(invoice|receipt)", r"发票|收据"),
    "change_plan": (
        r"\b(upgrade|downgrade|switch|change|move)\w*\b.{0,30}\b(plan|pro|plus|business|free|tier)\b",
        r"升级|降级|换(成|到)|改(成|到)",
    ),
}
_ACTIONS = tuple((name, _any(*patterns)) for name, patterns in _ACTION_PATTERNS.items())
_ACCESS = _any(
    r"\b(no longer|don'?t|do not|can'?t|cannot|lost|without) (have )?(any )?(access|use|get"
    r" into|log into|sign into)\b.{0,40}\b(e-?mail|inbox|phone|number|mailbox)",
    r"\b(old|previous|former|work|school|university)\s+(e-?mail|phone|number)\b.{0,40}"
    r"\b(no longer|not|can'?t|cannot|closed|deleted|gone|deactivated)",
    r"\blost\b.{0,30}\b(phone|device)\b.{0,60}\b(2fa|two[- ]factor|authenticator|code|recovery)"
    r"|\b(lost|don'?t have|no|without) (my |the |any )?(recovery|backup) codes?\b",
    r"\baccount (is |was |got |has been )?(suspended|disabled|banned|deactivated|terminated)\b",
    r"(不再|已经不|无法|不能|没法)(使用|用|登录|登陆|访问).{0,8}(邮箱|手机|号码)",
    r"(邮箱|手机号|号码).{0,10}(不用了|停用|注销了|丢了|没了|不能用|用不了|已经不用)",
    r"手机(丢|掉|被偷|坏|换)了.{0,20}(验证|两步|恢复码|动态码)|(恢复码|备用码).{0,6}(丢|没|找不到)",
    r"账号被(封|冻结|停用|禁用)",
)
# Harm happening now, by kind; the first kind that matches names it.
_CRITICAL_PATTERNS: dict[Critical, tuple[str, ...]] = {
    "security": (
        r"\b(hack(ed|er|ers)?|breach(ed)?|compromised|phish\w*|malware|ransomware|data leak"
        r"|leaked|someone (else )?(has |had )?(logged|signed|got|accessed|changed|deleted)"
        r"|wasn'?t me|not me)\b|\bunauthori[sz]ed (access|log ?in|sign[- ]?in|device|user)",
        r"\b(log ?in|sign[- ]?in)s? from (another|a different|an unknown|unknown|a strange)",
        r"被盗|被黑|黑客|盗号|被入侵|泄露|泄漏|异地登录|陌生设备|不是我(本人)?(操作|登录|改的|删的)",
        r"有人(登录|登陆|改了|删了|盗)",
        r"\b(phishing|scam\w*|impersonat\w*|pretending to be|vulnerabilit\w*|bug bounty|exploit)\b",
        r"\b(someone else'?s|other (customers|users|people)'?s?|another (customer|user)'?s) (files?"
        r"|photos?|account|data|names?|timeline)\b",
        r"\b(into|in) (someone|somebody) else'?s account\b",
        r"\b(api key|token|password)s? (was |were |got |has been )?(leaked|exposed|published|stolen"
        r"|disappeared)\b",
        r"冒充|骗局|诈骗|钓鱼|漏洞|别人的(照片|文件|账号)|其他(客户|用户)的|陌生(ip|设备)|密钥.{0,6}(泄露|公开)",
    ),
    "money": (
        r"\b(charged|billed|debited|deducted|taken)\b.{0,25}\b(twice|two times|three times"
        r"|double|2x|3x)\b",
        r"\b(double|duplicate|unauthori[sz]ed|unknown|fraudulent|wrong|extra|unexpected)"
        r"[- ](charge|payment|transaction|debit|deduction)s?\b|\bfraud\w*",
        r"\b(overcharg\w*|stolen card|card (was )?stolen)\b|\bstill (being )?(charged|billed"
        r"|charging|billing)\b",
        r"\b(didn'?t|did not|never) (authori[sz]e|sign up|subscribe|order|agree|buy|bought"
        r"|purchase|purchased|make|made)\b",
        r"\bcharged (me |us )?(for|after)\b.{0,40}\b(cancel\w*|closed|deleted|never)\b",
        r"\b(charged|billed|debited)\b.{0,40}\b(even though|though|although|but|despite)\b",
        r"\bwhy (was|were|am|are|have|has|did) (i|we|you|my card|our card)( been)? (charg|bill"
        r"|debit|take)\w*",
        r"为什么(扣|收|多扣|多收)了?(我|我们)?",
        r"盗刷|重复扣|多扣|扣了?(两|2|三|3)次|乱扣|无故扣|莫名(其妙)?(扣|收)|未经(授权|同意|允许)",
        r"取消了?.{0,10}(还|仍|又)(在)?(扣|收)|还在扣|还扣|没(有)?(授权|同意|订阅|购买)过?",
        r"(明明|设置的是|设的是).{0,20}(却|怎么|为什么|但).{0,10}(扣|收)",
    ),
    "outage": (
        r"\b(is|are|went|been|was|all|everything|system|site|service|servers?|api|production"
        r"|prod)\s+(completely\s+|totally\s+)?down\b|\boutages?\b",
        r"\b(all|every|entire|whole)\s+(of\s+)?(our|my|the)?\s*(users|customers|team|company"
        r"|staff|office|offices|orders|employees)\b.{0,40}\b(can'?t|cannot|unable|down|offline"
        r"|fail\w*|error\w*|lost|broken|not)",
        r"\b(nobody|no one|none of (us|our \w+))\b.{0,30}\b(can|able|works?|access)",
        r"\b(losing|lost) (money|sales|orders|customers|business|data)\b",
        r"宕机|(全部|所有)(用户|人|员工|同事|设备|订单|客户)|整个(公司|团队|部门)|全公司|大面积",
        r"服务(挂了|崩了|中断)|业务(停|中断|受影响)|生产环境|线上(故障|事故)|损失|都(用不了|登不上|打不开)",
    ),
    "safety": (
        r"\b(fire|smoke|smoking|burn(ing|t|ed)?|melt(ing|ed)?|overheat\w*|sparks?|explod\w*"
        r"|swollen|swelling|electric shock)\b|\btoo hot to touch\b",
        r"冒烟|着火|起火|烧焦|烧坏|发烫|过热|漏电|触电|爆炸|鼓包|火花",
    ),
    "legal": (
        r"\b(lawyer|attorney|legal action|sue|suing|lawsuit|court|solicitor|police|regulator"
        r"|ombudsman|small claims|trading standards)\b",
        r"律师|起诉|法院|诉讼|报警|警察|消协|12315|监管部门",
    ),
}
_CRITICAL = tuple((name, _any(*patterns)) for name, patterns in _CRITICAL_PATTERNS.items())


def status(lowered: str) -> bool:
    """The state of the customer's own case ("my refund has not arrived", "订单到哪了")."""
    return bool(_STATUS_PHRASE.search(lowered) and _STATUS_OBJECT.search(lowered))


def request(lowered: str, asks_how: bool) -> bool:
    """A request to act on the account ("please cancel my plan", "帮我退款", "I want to
    speak to a person"); "I want to cancel" is one unless the text asks how."""
    if _REQUEST_STRONG.search(lowered) or _PERSON.search(lowered):
        return True
    return not asks_how and _REQUEST_WEAK.search(lowered) is not None


def action(lowered: str) -> str | None:
    """The account task a request or status question names, if it is a known one."""
    return next((name for name, p in _ACTIONS if p.search(lowered)), None)


def access(lowered: str) -> bool:
    """The customer's own access is blocked beyond what self-service fixes."""
    return _ACCESS.search(lowered) is not None


def critical(lowered: str) -> Critical | None:
    """Harm happening now, by kind: outage, security, money taken wrongly, safety, legal."""
    return next((name for name, p in _CRITICAL if p.search(lowered)), None)


def grievance(lowered: str) -> bool:
    return _GRIEVANCE.search(lowered) is not None


def tried(lowered: str) -> bool:
    """The customer did what the documented fix says and the fault is still there."""
    return _TRIED.search(lowered) is not None

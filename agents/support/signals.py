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
* ``follow_up``: the text refers back to the conversation and is not a question of its
  own ("and how long does that take?", "那Pro呢？").

:func:`negation` tells whether a term found in the text is negated, wanted not to
happen, or already done ("I do not want to cancel", "已经取消了").

Patterns are matched on cleaned, lowercased, masked text. They are written to be read:
one list per signal and language, each line one way of saying it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agents.shared.text import tokenize
from schemas.support import Lang

Kind = Literal["howto", "info", "fix"]
Critical = Literal["outage", "security", "money", "safety", "legal"]
Negation = Literal["volition", "plain", "done"]


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


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
    status = bool(_STATUS_PHRASE.search(lowered) and _STATUS_OBJECT.search(lowered))
    strong = _REQUEST_STRONG.search(lowered) is not None or _PERSON.search(lowered) is not None
    weak = _REQUEST_WEAK.search(lowered) is not None and "howto" not in kinds
    request = strong or weak
    action = _action(lowered) if (status or request) else None
    critical = next((name for name, p in _CRITICAL if p.search(lowered)), None)
    return Signals(
        kinds=frozenset(kinds),
        status=status,
        request=request,
        action=action,
        access=_ACCESS.search(lowered) is not None,
        critical=critical,
        follow_up=is_follow_up(lowered, lang),
        tried=_TRIED.search(lowered) is not None,
        grievance=_GRIEVANCE.search(lowered) is not None,
        quantity=_QUANTITY.search(lowered) is not None,
        price=_PRICE.search(lowered) is not None,
        buying=_BUYING.search(lowered) is not None and _SOFTWARE.search(lowered) is None,
        software=_SOFTWARE.search(lowered) is not None,
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


def _action(lowered: str) -> str | None:
    return next((name for name, p in _ACTIONS if p.search(lowered)), None)


def _is_zh(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"

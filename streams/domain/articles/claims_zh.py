"""Claims in Chinese market news (Traditional or Simplified): the patterns of
:mod:`streams.domain.articles.claims` for the way Hong Kong, Taiwan and mainland wraps write.

Every rule is written once, in Simplified characters over ASCII digits, and runs on
:func:`streams.domain.articles.zh.normalize` of the sentence (same length, so offsets and
quoted names stay the reader's own characters). What the wraps say and how it is read:

* changes: 恒指跌1.2%, 收涨0.13%, 上涨234.53点或0.93%, 涨近1% (nearly), 涨逾4% / 涨超2% /
  跌300多点 (over), 跌约1% / 1%左右 (about), 不足1% (under); 本周涨0.27%, 周线 (weekly).
* open gaps: 高开0.4%, 开低0.31%, 开盘跌0.74% (``field`` ``open``).
* levels: 收于/收报/报收 25,100点 (close), 盘中最高见/最低见 (high/low), 开报/高开于 (open),
  站上/续守/失守/跌破 3800点 (close over/under), a bare 报 (a level of the session).
* streaks: 连续三日走扬, 连三扬, 连2跌, 连升3日, 三连阳, 周K连2红 (weeks), 终止连四日走跌
  (a streak that ended the day before), 周K均连3红 (均: every index the sentence named).
* moving-average lines: 失守/跌穿/跌破/下破 and 重上/升穿/突破/站上/收复 an N日线/N天线/
  N日均线/年线/半年线; 企稳/站稳/守住 say the close stayed on that side.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from streams.domain.articles.claims import (
    INDEXES,
    NUM,
    DateRef,
    Grammar,
    Mention,
    Pred,
    _first_of_overlaps,
    _name_start,
    _parenthesized,
    _safe_date,
    number_params,
)
from streams.domain.articles.entities import hk_symbol
from streams.domain.articles.zh import normalize

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip


def zh_int(text: str) -> int | None:
    """12, 十二, 两, 二十 -> int (small counts only)."""
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens, 0) if tens else 1
        o = _CN_DIGITS.get(ones, 0) if ones else 0
        if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
            return None
        return t * 10 + o
    return None


_N = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"
_Q_BEFORE = r"(?P<q>逾|超过|超|近|接近|将近|约|不足|不到)?"
_Q_AFTER = r"(?P<q2>多|以上|左右|有余)?"
_UP = r"上涨|上升|上扬|反弹|回升|攀升|急升|大涨|大升|劲升|飙升|走高|弹升|微涨|微升|小涨|高收|收高|涨幅|升幅|涨|升|扬"
_DOWN = r"下跌|下挫|下滑|回落|急跌|大跌|暴跌|重挫|急挫|走低|微跌|小跌|低收|收低|跌幅|跌|挫|泻"
_CHANGE = re.compile(
    rf"(?P<close>收(?:市|盘)?)?(?<![提晋看拉])(?P<verb>{_UP}|{_DOWN})(?:了|为|达到|达|也|亦|均|都|皆|则|更)*"
    rf"\s*{_Q_BEFORE}\s*(?:为|达到|达|了)?\s*(?P<num>{NUM})\s*(?P<unit>%|点)(?!\d){_Q_AFTER}"
    rf"(?:\s*(?:,\s*)?(?:或|即)\s*(?P<num2>{NUM})\s*(?P<unit2>%|点))?"
)
_OPEN_GAP = re.compile(
    rf"(?P<verb>高开|低开|开高|开低)\s*{_Q_BEFORE}\s*(?P<num>{NUM})\s*(?P<unit>%|点)"
    rf"(?:\s*,?\s*报\s*(?P<lvl>{NUM})\s*(?:点|港元|元))?"
    rf"|开(?:盘|市)(?:后)?(?P<verb2>上涨|下跌|涨|跌|升|挫)\s*(?P<qb>逾|超|近|约)?\s*(?P<numb>{NUM})\s*(?P<unitb>%|点)"
    rf"(?:\s*,?\s*报\s*(?P<lvlb>{NUM})\s*(?:点|港元|元))?"
)
_UNIT_LEVEL = r"(?P<unit>点|港元|港币|元|美元)"
_CLOSE_AT = re.compile(
    rf"(?:(?<![营吸回接税买创])收(?:市|盘)?(?:于|报|在)?|报收(?:于|在)?|收市报|收盘报|收(?:市|盘)价\s*[:为]?)\s*"
    rf"(?P<q>约|近)?\s*(?P<num>{NUM})\s*{_UNIT_LEVEL}"
)
_BARE_LEVEL = re.compile(rf"(?<![收开])(?:报|现报|暂报)\s*(?P<num>{NUM})\s*{_UNIT_LEVEL}")
_THRESHOLD = re.compile(
    rf"(?P<verb>站上|站稳|重上|重返|收复|升穿|突破|企稳|守住|续守|失守|跌穿|跌破|下破|跌落|失去)"
    rf"\s*(?P<num>{NUM})\s*{_UNIT_LEVEL}(?:大?关口?)?"
)
_HIGH_LOW = re.compile(
    rf"(?P<what>最高|最低|高见|低见)(?:曾)?(?:见|报|升至|涨至|跌至|触及|见到|至|到|达|为|在)?\s*"
    rf"(?P<num>{NUM})\s*{_UNIT_LEVEL}"
)
_OPEN_AT = re.compile(
    rf"(?:高开|低开|平开|开盘|开市|开)(?:于|报|在)\s*(?P<num>{NUM})\s*{_UNIT_LEVEL}"
)
_MA_VERBS = (
    r"失守|跌穿|跌破|下破|跌落|失去|重上|升穿|突破|站上|站稳|企稳|收复|重返|上破|升越|守住|守稳"
)
_WINDOW = r"\d{1,3}|[一二两三四五六七八九十百]{1,4}"
_MA = re.compile(
    # 重上20天、50天及60天线; 收复10日、20日及50日均线; 站上年线(250日均线)
    rf"(?P<verb>{_MA_VERBS})(?:了)?\s*(?:(?P<ns>(?:{_WINDOW})\s*(?:日|天)?(?:\s*(?:及|和|与|、|,|以及)\s*"
    rf"(?:{_WINDOW})\s*(?:日|天))*)\s*(?:均线|线|移动平均线|移动线|平均线|均价线)"
    r"|牛熊(?:分界)?线|(?P<named>半年线|年线|牛熊线|牛熊分界线))"
)
_BELOW = {"失守", "跌穿", "跌破", "下破", "跌落", "失去"}
_HOLDS = {"站稳", "企稳", "守住", "守稳"}
_NAMED_MA = {"年线": 250, "牛熊线": 250, "牛熊分界线": 250, "半年线": 120}
_DIR_UP = r"上涨|走扬|走高|收涨|收红|收高|上扬|攀升|回升|涨|升|扬|红|阳|高"
_DIR_DOWN = r"下跌|走跌|走低|收跌|收黑|收低|回落|下滑|下挫|跌|挫|泻|黑|阴|绿|低"
_END = r"(?P<end>终止|结束|止住|打破|中止|终结|结束了|终止了)?"
_UNIT = r"(?P<unit>个交易日|交易日|日|天|周|个星期|星期)"
_STREAK = re.compile(
    rf"{_END}连(?:续)?\s*(?P<n>{_N})\s*(?:个(?=交易日|星期|周))?{_UNIT}?\s*(?:收|走|上|下|均)?\s*"
    rf"(?P<dir>{_DIR_UP}|{_DIR_DOWN})"
    rf"|{_END.replace('end', 'end2')}连(?P<dir2>涨|升|扬|跌|挫|泻|红|黑|阳|阴)\s*(?P<n2>{_N})\s*"
    rf"{_UNIT.replace('unit', 'unit2')}"
    rf"|{_END.replace('end', 'end3')}(?P<n3>{_N})\s*连(?P<dir3>涨|升|扬|阳|红|跌|挫|泻|阴|黑)"
)
_WEEKLY_BEFORE = re.compile(r"(?:周K|周k|周线|周)\s*(?:均|皆|都)?\s*$")

# -- dates ------------------------------------------------------------------------------
_YMD = re.compile(
    r"(?<!\d)(?P<y>20\d{2})(?:[-/.]|年)(?P<m>\d{1,2})(?:[-/.]|月)(?P<d>\d{1,2})日?(?!\d)"
)
_MD = re.compile(r"(?<![\d/年.-])(?P<m>\d{1,2})月(?P<d>\d{1,2})日")
_DAY_OF = re.compile(r"(?P<w>今|昨)\s*\(\s*(?P<d>\d{1,2})\s*\)\s*日")
_THAT_DAY = re.compile(r"(?<![一二三四五六日天])(?:当天|当时)")  # not 周五当天, 21日当天
_TODAY = re.compile(r"今日|今天|今(?=[早晨收开涨跌升挫午])")
_YESTERDAY = re.compile(r"(?<![较比])(?:昨日|昨天|前一交易日|上一交易日|隔夜|昨(?=[收涨跌升挫]))")
_WEEKDAY = re.compile(r"(?P<last>上)?(?:周|星期|礼拜)(?P<d>[一二三四五六日天])")
_WD = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_ZH_BLOCK = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9]{1,8}指数"  # an index windvane does not know: 美元指数, 三大指数
    r"|[\u4e00-\u9fffA-Z]{0,4}(?:股(?![价份东息本])|板块|类股|概念|ETF|基金|期货|期指|汇率|"
    r"人民币|美元|港元|港币|日元|欧元|金价|油价|原油|黄金|白银|比特币|收益率|国债|债券|成交额|"
    r"成交量|成交|市值|营收|收入|利润|销售额|盈利|净利|纯利|营业额|出口|进口|GDP|CPI|PPI|PMI|价格|房价|销量|资金|"
    r"南向|北向|两市|沪市|深市|公司|集团|银行|行业)"
)


class ZhGrammar(Grammar):
    lang = "zh"
    clause = re.compile(r"[,;/!?]|\s+(?=[^\x00-\x7f])")
    filler_words = (
        r"[\s、,;:]|随后|其后|之后|最后|随即|则|并|且|亦|也|又|再|续|继续|共|合共|以周线来看|"
        r"以周线计|以周线看|来看|报|收|终|较前一交易日|较上一交易日|较昨日?|再度|进一步|仍|维持|"
        r"分别|至此|此外|同时|盘面上|整体|大市|指数|\(\s*\d+\s*日?\s*\)|日|均|皆|都|终止|结束|其中|而|但|惟|"
        r"曾|更|大幅|涨幅|跌幅|股价|尾盘|午后|盘后|早段|实际上|一举|重新|再次|顺利|成功|正式|"
        r"齐齐|齐|双双|同步|同样|相继|先后|逐步|稳稳|强势|明显|纷纷|全线|持续|连续|一并|亦同"
    )
    list_sep = re.compile(r"\s*(?:、|和|及|与|以及|跟)\s*")
    markers: dict[str, re.Pattern[str]] = {
        "close": re.compile(
            r"终场|收市|收盘|尾市|全日|全天|最终|收报|收于|收涨|收跌|收升|收挫|收高|收低|报收|收在"
        ),
        "intraday": re.compile(
            r"半日收(?:报|市|盘)?|盘中|早盘|早市|午盘|午市|半日|午间|上午|开盘|开市|高开|低开|开高|开低|平开|一度|"
            r"盘初|截至发稿|发稿时|截至午间|午收|早段|日内|现报|暂报|今早|早上"
        ),
        "weak_intraday": re.compile(r"(?!)"),
        "week": re.compile(r"本周|全周|周线|按周|周K|周k|当周|单周|周累计|周涨|周跌"),
        "lastweek": re.compile(r"上周(?![一二三四五六日天])"),
        "ytd": re.compile(r"年内|今年以来|今年|年初至今|年初以来"),
        "day": re.compile(r"今日|今天|单日|当日|终场|收市|收盘|全日|全天|今\(\d+\)日"),
        "nonday": re.compile(
            r"今年|年内|年初|以来|本月|月内|上月|本季|季内|季度(?=内|以来|累)|上半年|下半年|迄今|至今|近期|近日|此前|早前|日前|近一年|过去|期间|去年|前年|历史|年度(?=内|以来|累)|同比|"
            r"环比|月线|月份|(?<![\d(])\d{1,2}月(?!\d{1,2}日|\d)|近\d+个?(?:交易)?[日天周月年]|"
            r"近[一二两三四五六七八九十]+个?(?:交易)?[日天周月年]|\d+个交易日|[一二两三四五六七八九十]+个交易日|"
            r"\d+[日天]内|多日|数日"
        ),
        # 累计: over the week when the week is named, else over a span windvane does not check
        "cumul": re.compile(r"累计|累积|累涨|累跌|累升|累挫"),
        # 较年内高点回落12%: a change from some other level
        "versus": re.compile(r"(?:较|比|相比|相较|距离?)(?!前一交易日|上一交易日|昨|上周)"),
    }

    def __init__(self, stocks: list[tuple[str, str]]) -> None:
        super().__init__([])
        # 恒指期货, 恒指牛熊证, 恒指成份股: a product on the index, not the index
        product = r"(?!期货|期指|期权|牛熊证|ETF|基金|成份股|成分股|公司|有限)"
        self._indexes = [(d.key, re.compile(f"(?:{d.zh}){product}")) for d in INDEXES if d.zh]
        han = sorted(
            {(normalize(a), s) for a, s in stocks if not a.isascii()},
            key=lambda a: len(a[0]),
            reverse=True,
        )
        # 腾讯音乐, 阿里健康, 小米汽车: another company (or a product), not the stock
        other = r"(?!音乐|系|概念|阅读|视频|健康|影业|体育|汽车|金融|文档|地图|医疗|能源|生物|电子)"
        alt = "|".join(re.escape(a) for a, _ in han)
        self._stock_re = re.compile(f"(?:{alt}){other}") if han else None
        self._stock_of = {a: s for a, s in han}

    def prepare(self, text: str) -> str:
        return normalize(text)

    _anaphora = re.compile(r"大市|该指数|该指")
    # 收盘创近三年新高, 创上市以来新高: how notable the day is, not the span of its change
    record_since = re.compile(
        r"创[^,;]{0,14}?(?:新高|新低|高位|低位|高点|低点)|[^,;]{0,10}以来(?:最大|最高|最低|最多|最少)[^,;]*"
    )
    # "腾讯控股(00700)", "腾讯(0700.HK)股价", "(0700.HK,收盘价:590.5港元)": the code and what
    # follows it that is still the stock; a depositary receipt (ADR) is another instrument
    _stock_tail = re.compile(
        r"(?:控股)?(?:-[A-Z]{1,2})?(?:\s*\(\s*(?:\d{4,6}(?:\.[A-Z]{2})?)\s*\)?)?(?:的)?(?:股价|股份|股票)?"
    )
    _code = re.compile(
        r"\(\s*(?P<code>\d{4,5})(?:[.-]HK)?\s*(?=[),])\)?|\(\s*(?P<a>\d{6})(?:[.-]S[HZ])?\s*\)"
    )
    _adr = re.compile(r"\s*(?:ADR|美股|存托凭证)")
    _block = _ZH_BLOCK

    def _stocks(self, norm: str) -> list[Mention]:
        out: list[Mention] = []
        if self._stock_re is not None:
            for m in self._stock_re.finditer(norm):
                out.append(self._stock(norm, m.start(), m.end(), self._stock_of[m.group(0)], None))
        for m in self._code.finditer(norm):
            if any(s.start <= m.start() < s.end for s in out):
                continue
            start = _name_start(norm, m.start())
            code = m.group("code")
            sym = hk_symbol(code) if code else None
            out.append(self._stock(norm, start, m.end(), sym, code or m.group("a")))
        return out

    def _stock(self, norm: str, start: int, end: int, sym: str | None, code: str | None) -> Mention:
        tail = self._stock_tail.match(norm, end)
        end = tail.end() if tail else end
        adr = self._adr.match(norm, end)
        if adr:  # 腾讯ADR: not the Hong Kong line
            return Mention(start, adr.end(), "stock", None, code or "ADR")
        return Mention(start, end, "stock", sym, code)

    def dates(self, norm: str, published: date | None) -> list[DateRef]:
        out: list[DateRef] = []
        taken: list[tuple[int, int]] = []

        def add(ref: DateRef) -> None:
            if any(ref.start < e and s < ref.end for s, e in taken):
                return
            if _parenthesized(norm, ref.start, ref.end):
                return
            taken.append((ref.start, ref.end))
            out.append(ref)

        for m in _YMD.finditer(norm):
            day = _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            if day:
                add(DateRef(m.start(), m.end(), "text", day))
        if published is not None:
            for m in _MD.finditer(norm):
                day = _in_year_before(published, int(m.group("m")), int(m.group("d")))
                if day:
                    add(DateRef(m.start(), m.end(), "text", day))
            for m in _DAY_OF.finditer(norm):
                day = _day_of_month_before(published, int(m.group("d")))
                if day:
                    add(DateRef(m.start(), m.end(), "text", day))
        for m in _THAT_DAY.finditer(norm):  # 消息发布当天: a day the text named elsewhere
            add(DateRef(m.start(), m.end(), "unresolved"))
        for m in _TODAY.finditer(norm):
            add(DateRef(m.start(), m.end(), "today"))
        for m in _YESTERDAY.finditer(norm):
            add(DateRef(m.start(), m.end(), "yesterday"))
        for m in _WEEKDAY.finditer(norm):
            wd = _WD[m.group("d")]
            add(
                DateRef(
                    m.start(),
                    m.end(),
                    "weekday",
                    weekday=wd,
                    weeks_back=1 if m.group("last") else 0,
                )
            )
        return sorted(out, key=lambda d: d.start)

    def predicates(self, norm: str) -> list[Pred]:
        preds: list[Pred] = []
        for m in _CHANGE.finditer(norm):
            preds += _change(m)
        for m in _OPEN_GAP.finditer(norm):
            verb = m.group("verb") or m.group("verb2")
            up = verb in ("高开", "开高", "涨", "升", "上涨")
            num = m.group("num") or m.group("numb")
            unit = m.group("unit") or m.group("unitb")
            params = number_params(num, 1 if up else -1)
            params["qualifier"] = _qualifier(m.group("q") or m.group("qb"))
            params["field"] = "open"
            kind = "index_change_pct" if unit == "%" else "index_change_points"
            preds.append(Pred(m.start(), m.end(), kind, params, frozenset({"open"})))
            if m.group("lvl") or m.group("lvlb"):  # 高开2.39%报600港元: the open
                opening = m.group("lvl") or m.group("lvlb")
                lvl = {**number_params(opening), "field": "open", "qualifier": None}
                preds.append(Pred(m.start(), m.end(), "index_level", lvl, frozenset({"open"})))
        for m in _CLOSE_AT.finditer(norm):
            preds.append(_level(m, "close", _qualifier(m.group("q")), {"close"}))
        for m in _BARE_LEVEL.finditer(norm):
            preds.append(_level(m, "close", None, {"bare_level"}))
        for m in _THRESHOLD.finditer(norm):
            q = "under" if m.group("verb") in _BELOW else "over"
            preds.append(_level(m, "close", q, {"threshold"}))
        for m in _HIGH_LOW.finditer(norm):
            fld = "high" if m.group("what") in ("最高", "高见") else "low"
            preds.append(_level(m, fld, None, {"intraday_level"}))
        for m in _OPEN_AT.finditer(norm):
            preds.append(_level(m, "open", None, {"open"}))
        for m in _MA.finditer(norm):
            verb = m.group("verb")
            if m.group("named"):
                windows = [_NAMED_MA[m.group("named")]]
            else:  # 重上10天及20天移动线: both lines
                ns = re.findall(_WINDOW, m.group("ns"))
                windows = [zh_int(n) or 0 for n in ns]
            for window in windows:
                if not 2 <= window <= 500:
                    continue
                ma: dict[str, Any] = {
                    "window": window,
                    "direction": "below" if verb in _BELOW else "above",
                }
                if verb in _HOLDS:
                    ma["holds"] = True
                preds.append(Pred(m.start(), m.end(), "ma_cross", ma, frozenset({"ma"})))
        for m in _STREAK.finditer(norm):
            pred = _streak(m, norm)
            if pred is not None:
                preds.append(pred)
        return _first_of_overlaps(preds)


def _qualifier(q: str | None) -> str | None:
    return {"逾": "over", "超过": "over", "超": "over", "多": "over", "以上": "over",
            "有余": "over", "近": "nearly", "接近": "nearly", "将近": "nearly", "约": "about",
            "左右": "about", "不足": "under", "不到": "under"}.get(q or "")  # fmt: skip


def _change(m: re.Match[str]) -> list[Pred]:
    up = re.fullmatch(_UP, m.group("verb")) is not None
    sign = 1 if up else -1
    marks = (
        {"close"}
        if m.group("close") or m.group("verb") in ("收高", "收低", "高收", "低收")
        else set()
    )
    q = _qualifier(m.group("q")) or _qualifier(m.group("q2"))
    out = []
    params = number_params(m.group("num"), sign)
    params["qualifier"] = q
    first_pct = m.group("unit") == "%"
    kind = "index_change_pct" if first_pct else "index_change_points"
    out.append(Pred(m.start(), m.end(), kind, params, frozenset(marks)))
    if m.group("num2") and (m.group("unit2") == "%") != first_pct:
        params2 = number_params(m.group("num2"), sign)
        params2["qualifier"] = None
        kind2 = "index_change_pct" if m.group("unit2") == "%" else "index_change_points"
        out.append(Pred(m.start(), m.end(), kind2, params2, frozenset(marks)))
    return out


def _level(m: re.Match[str], fld: str, q: str | None, marks: set[str]) -> Pred:
    params = number_params(m.group("num"))
    params["field"] = fld
    params["qualifier"] = q
    if m.group("unit") != "点":  # a share price: its round figures are not rounding
        params["unit"] = m.group("unit")
        params.pop("zeros", None)
    return Pred(m.start(), m.end(), "index_level", params, frozenset(marks))


def _streak(m: re.Match[str], norm: str) -> Pred | None:
    if m.group("n") is not None:
        n, unit, direction, end = m.group("n"), m.group("unit"), m.group("dir"), m.group("end")
    elif m.group("n2") is not None:
        n, unit, direction, end = m.group("n2"), m.group("unit2"), m.group("dir2"), m.group("end2")
    else:
        n, unit, direction, end = m.group("n3"), None, m.group("dir3"), m.group("end3")
    count = zh_int(n)
    if count is None or not 1 < count <= 30:
        return None
    before = norm[max(0, m.start() - 4) : m.start()]
    weekly = unit in ("周", "个星期", "星期") or bool(_WEEKLY_BEFORE.search(before))
    up = re.fullmatch(_DIR_UP, direction) is not None
    marks = set()
    if end:
        marks.add("ended")
    if re.search(r"[均皆都]\s*$", before) or "均" in m.group(0):
        marks.add("all")
    params: dict[str, Any] = {
        "direction": "up" if up else "down",
        "count": count,
        "unit": "weeks" if weekly else "days",
        "qualifier": None,
    }
    return Pred(m.start(), m.end(), "streak", params, frozenset(marks))


def _in_year_before(published: date, month: int, day: int) -> date | None:
    found = _safe_date(published.year, month, day)
    if found is not None and found > published:
        found = _safe_date(published.year - 1, month, day)
    return found


def _day_of_month_before(published: date, day: int) -> date | None:
    if day <= published.day:
        return _safe_date(published.year, published.month, day)
    month, year = (
        (published.month - 1, published.year) if published.month > 1 else (12, published.year - 1)
    )
    return _safe_date(year, month, day)

"""Metrics from Chinese market-news text (Traditional or Simplified): the same kinds and
units as :mod:`streams.domain.articles.metrics` gives for English.

Every rule below is written once, in Simplified characters over ASCII digits, and runs on
:func:`streams.domain.articles.zh.normalize` of the sentence: that text has the sentence's
length character for character, so an offset found in it is an offset in the original, and
the quoted ``text`` of a metric is the reader's own characters (Traditional, full-width).

A number becomes a metric only when the text gives it a unit: a currency (港元, 美元, 元...),
``%``/成/百分点, 点, 倍, 分位, or a measure word with a countable noun (38家企业, 4只,
2137万股). Scale words (千, 万, 亿, 万亿, 兆) multiply; Chinese numerals count where they
quantify (三成, 两家). Dates, times, years, quarters, stock codes, ranks (第3名), model names
(Qwen3, GPT-5) and moving-average windows (60日线) are not metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import cn2an

from streams.domain.articles.metrics import Metric, merge_mention
from streams.domain.articles.text import NUMERIC_DATE_RE, DateMention, Sentence, spaces
from streams.domain.articles.zh import normalize

# --- numbers -------------------------------------------------------------------------------

_AR = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_CHARS = "零〇一二两三四五六七八九十百千万亿"
SCALES = {"百": Decimal(100), "千": Decimal(1000), "万": Decimal(10**4), "亿": Decimal(10**8),
          "万亿": Decimal(10**12), "兆": Decimal(10**12)}  # fmt: skip
# a number: Arabic (1,234.5) or a run of Chinese numerals; the sign only where it is one
_NUMBER_RE = re.compile(
    rf"(?P<sign>(?<![\w%.])[-−](?=\d))?(?P<num>{_AR})|(?P<cn>[{_CN_CHARS}]+)", re.ASCII
)
_ANY_NUMBER_RE = re.compile(rf"[\d{_CN_CHARS}]")
# after the number: 多/余 ("110多", "1000余" = over), then scale words ("1.51 亿", "5.06万亿")
_SCALE_RE = re.compile(r"(?P<more>多|余)?(?P<scales>(?: ?(?:万亿|兆|亿|万|千|百(?!分)))*)")
# "1兆4,516亿", "3亿5000万": a second part with a smaller scale
_SECOND_RE = re.compile(rf"(?P<num>{_AR})(?P<scale>亿|万|千)", re.ASCII)

# --- units ---------------------------------------------------------------------------------

CURRENCIES = [
    ("港元", "HKD"), ("港币", "HKD"), ("港纸", "HKD"), ("元港币", "HKD"), ("元人民币", "CNY"),
    ("人民币元", "CNY"), ("人民币", "CNY"), ("美元", "USD"), ("美金", "USD"), ("日元", "JPY"),
    ("日圆", "JPY"), ("欧元", "EUR"), ("英镑", "GBP"), ("新台币", "TWD"), ("台币", "TWD"),
    ("韩元", "KRW"), ("新加坡元", "SGD"), ("新元", "SGD"), ("澳元", "AUD"), ("加元", "CAD"),
    ("元", "CNY"),
]  # fmt: skip
_CURRENCY_SUFFIX_RE = re.compile(
    r"(?P<cur>" + "|".join(c for c, _ in sorted(CURRENCIES, key=lambda c: -len(c[0]))) + r")"
    r"(?!宇宙|宝|素|旦|首|老|帅|月|年|件|器|气|数据)"
    r"(?P<paren> ?[(（](?:人民币|港币|港元|美元)[,，)）])?"
    r"(?P<per> ?(?:/|每)(?:股|吨|桶|盎司|克|公斤|千克|斤|件|台|辆|平方米|平米|晚|人|张|份|度))?"
)
_CURRENCY_CODE = dict(CURRENCIES)
_PAREN_CURRENCY = {"人民币": "CNY", "港币": "HKD", "港元": "HKD", "美元": "USD"}
# a scaled amount whose currency stands in brackets: "3万亿(港元)"
_PAREN_UNIT_RE = re.compile(r" ?[(（](?P<cur>港元|港币|人民币|美元)[)）]")
_CURRENCY_PREFIX_RE = re.compile(
    r"(?:(?P<sym>HK\$|US\$|RMB|CNY|HKD|USD|\$|¥|￥)|(?P<word>人民币|港币|港元|美元)) ?$"
)
_SYMBOLS = {"HK$": "HKD", "US$": "USD", "RMB": "CNY", "CNY": "CNY", "HKD": "HKD", "USD": "USD",
            "$": "USD", "¥": "CNY", "￥": "CNY"}  # fmt: skip
# "(人民币,下同)": bare 元 after this point is that currency
_SAME_BELOW_RE = re.compile(r"[(（](?P<cur>人民币|港币|港元|美元|新台币)[,，、]?下同[)）]")

_PERCENT_RE = re.compile(r"(?:个)?百分点|%")
_PERCENTILE_AFTER_RE = re.compile(r"^ ?(?:的)? ?(?:历史)?(?:百)?分位")
_PERCENTILE_RE = re.compile(r"(?:百分位|分位)")
# 成 as a tenth (三成 = 30%), not the first character of a word (成交, 成为, 成本...)
_CHENG_RE = re.compile(r"成(?![是会要能就了交为本长功立员绩果熟都品型分效年人像])")
_POINTS_RE = re.compile(r"点(?![钟半整前后多]|\d|评|赞|击|位|子|名|燃)")
_TIME_BEFORE_RE = re.compile(
    r"(?:上午|下午|晚上|早上|凌晨|中午|傍晚|晚间|早间|夜间|清晨|今晚|明早)\s*$"
)

# --- counts --------------------------------------------------------------------------------

# measure word -> the default English plural (None: only with a noun the table knows)
MEASURES: dict[str, str | None] = {
    "家": "companies", "只": "stocks", "股": "shares", "辆": "vehicles", "项": "items",
    "大洲": "continents", "大类": "categories", "小类": "subcategories", "类": "categories",
    "件": "items", "单": "orders", "笔": "transactions", "人": "people", "个": None, "名": None,
    "位": None, "种": None, "款": None, "所": None, "座": None, "台": None, "条": None,
    "部": None, "支": None, "户": "households", "间": None, "架": "aircraft", "艘": "ships",
}  # fmt: skip
_MEASURE_RE = re.compile(
    r"(?P<m>家(?!电|具|居|庭|族|长|属|乡|用|人|里|中)|只(?!是|有|能|要|会|不|在|需|好)"
    r"|股(?!份|价|东|权|息|本|市|票|指|民|灾|神|评|性)|辆|项(?!目)|件(?!事)|单(?!位|价|日|月|季|一|独|纯)"
    r"|笔(?!记|者)|人(?!民|均|次|气|工|才|士|员|类|手|口|物|们|选|性|为)|个(?!股|人|性|体|别|案)"
    r"|名(?!单|次|列|义|称|字|牌|誉|额|校|气|人)|位(?!于|置|列|居|数|元)|种(?!子|类)|款(?!项)"
    r"|所(?!有|以|在|谓|得|属|持)|座|台(?!湾|积|币|北|南|中)|条(?!件|款|例)|部(?!分|门|署|长|位)"
    r"|支(?!持|付|出|撑)|户(?!口|外|型)|间(?!接)|架(?!构)|艘|大洲|大类|小类|类(?!似|型|别))"
)
# the noun a count counts, Simplified, with its English plural (earliest match wins)
NOUNS: dict[str, str] = {
    # work and firms
    "职缺": "jobs", "岗位": "jobs", "职位": "jobs", "工作岗位": "jobs", "就业岗位": "jobs",
    "录取名额": "jobs", "招聘名额": "jobs", "企业": "companies", "公司": "companies",
    "厂商": "companies", "商": "companies", "深企": "companies", "上市公司": "companies",
    "发行商": "companies", "供应商": "companies", "初创公司": "companies", "集团": "companies",
    "业务集团": "companies", "经销商": "dealers", "代理商": "agents", "银行": "banks",
    "券商": "brokers", "机构": "institutions", "基金": "funds", "业务": "businesses",
    "合作伙伴": "partners", "门店": "stores", "店铺": "stores", "店": "stores", "网点": "outlets",
    "餐厅": "restaurants", "酒店": "hotels", "影院": "cinemas", "工厂": "factories",
    "数据中心": "data centers", "学校": "schools", "高校": "universities", "大学": "universities",
    "医院": "hospitals", "项目组": "teams", "团队": "teams",
    # places
    "国家": "countries", "地区": "regions", "城市": "cities", "城": "cities", "省份": "provinces",
    "园区": "parks", "社区": "communities", "充电站": "charging stations", "基站": "base stations",
    # people
    "用户": "users", "付费用户": "users", "活跃用户": "users", "订阅用户": "users",
    "会员": "members", "粉丝": "followers", "账户": "accounts", "账号": "accounts",
    "员工": "employees", "雇员": "employees", "职员": "employees", "人员": "staff",
    "开发人员": "developers", "开发者": "developers", "研究人员": "researchers",
    "科学家": "scientists", "工程师": "engineers", "学生": "students", "毕业生": "graduates",
    "人才": "talents", "客户": "customers", "商家": "merchants", "商户": "merchants",
    "骑手": "riders", "股东": "shareholders", "投资者": "investors", "董事": "directors",
    "高管": "executives", "分析师": "analysts", "经济学家": "economists", "专家": "experts",
    "游客": "visitors", "旅客": "passengers", "乘客": "passengers", "患者": "patients",
    "医生": "doctors", "家庭": "households", "人": "people",
    # things
    "产品": "products", "新品": "products", "商品": "products", "模型": "models",
    "大模型": "models", "智能体": "agents", "语言": "languages", "文件": "files",
    "代码文件": "files", "股票": "stocks", "个股": "stocks", "港股": "stocks", "债券": "bonds", "ETF": "ETFs",
    "专利": "patents", "商标": "trademarks", "论文": "papers", "项目": "projects",
    "课题": "topics", "订单": "orders", "车": "vehicles", "汽车": "vehicles", "新车": "vehicles",
    "新能源汽车": "vehicles", "新能源车": "vehicles", "电动车": "vehicles", "车型": "models",
    "设备": "devices", "硬件": "devices", "硬体": "devices", "手机": "phones", "芯片": "chips",
    "服务器": "servers", "卫星": "satellites", "无人机": "drones", "机器人": "robots",
    "软件": "software", "软体": "software", "应用": "apps", "小程序": "mini programs",
    "游戏": "games", "手游": "games", "电影": "films", "歌曲": "songs", "品牌": "brands",
    "平台": "platforms", "版本": "versions", "场景": "scenarios", "解决方案": "solutions",
    "大洲": "continents", "快递": "parcels", "包裹": "parcels", "交易": "transactions",
    "航班": "flights", "航线": "routes", "飞机": "aircraft", "列车": "trains", "住宅": "homes",
    "单位": "units", "楼盘": "projects", "地块": "plots", "协议": "agreements",
    "合同": "contracts", "条款": "clauses", "类": "categories", "小类": "subcategories",
    "大类": "categories",
}  # fmt: skip
# 家 counts firms: a noun after it names the kind of firm only for these
_FIRM_KINDS = {"banks", "brokers", "institutions", "stores", "outlets", "hospitals", "schools",
               "factories", "data centers", "funds"}  # fmt: skip
_FIXED_MEASURES = {"股": "shares", "单": "orders", "辆": "vehicles", "笔": "transactions",
                   "大洲": "continents", "大类": "categories", "小类": "subcategories"}  # fmt: skip
_PARCEL_RE = re.compile(r"快递|包裹|件量|派件|揽件")
_NOUN_WINDOW_RE = re.compile(r"[\u4e00-\u9fffA-Za-z]{1,10}")
_NOUN_STOP_RE = re.compile(r"[和与及或、的]")
_NOUN_RE = re.compile("|".join(sorted(NOUNS, key=len, reverse=True)))
# nouns a number may count without a measure word ("逾10亿用户", "900万人")
_BARE_NOUN_RE = re.compile(
    r"(?:用户|会员|员工|游客|投资者|股东|家庭|人(?!民|均|次|工|气|才|士|员|类|手|口|物|们))"
)
_LINK = r"(?:数|数量|总数|人数|家数|只数|规模)?(?:共|合计|总计|累计|已|仅|有|达到|达|为|超过|超|逾|约|近|突破|多达|增至|增加|减少|减至)*"
_NOUN_BEFORE_RE = re.compile(
    rf"(?P<noun>{'|'.join(sorted(NOUNS, key=len, reverse=True))}){_LINK} ?$"
)
_RANK_BEFORE_RE = re.compile(
    r"(?:排名|排|位列|位居|跻身|上升|下降|提升|前进|后退|跃升|跃居|名次)\S{0,3}$"
)
_TIME_NOUNS = re.compile(
    r"(?:个)?(?:交易日|工作日|日|天|周|星期|礼拜|月|年|季度|季|小时|钟头|分钟|秒|世纪)"
)

# --- runs of days ("连续三日走扬", "连2跌", "周K连3红") --------------------------------------

_RUN_VERBS = r"涨|跌|扬|升|红|黑|阳|阴|挫|降|增|减|收高|收低|收涨|收跌|走高|走低|上涨|下跌"
_RUN_RE = re.compile(
    rf"连(?:续)?(?:{_RUN_VERBS})? ?(?:第)? ?(?P<n>{_AR}|[一二两三四五六七八九十]+) ?(?:个)?"
    rf"(?:(?P<unit>交易日|日|天|周|星期|个月|月|年|季度|季)|(?P<verb>{_RUN_VERBS}))"
    rf"|(?<![\d.])(?P<n2>{_AR}|[二两三四五六七八九十]+) ?连(?:{_RUN_VERBS})",
    re.ASCII,
)
# "百分之三十", "百分之5"; fractions "三分之一" as the percent they are
_PER_CENT_RE = re.compile(rf"百分之(?P<n>{_AR}|[{_CN_CHARS}点]+)", re.ASCII)
_FRACTION_RE = re.compile(
    rf"(?<![百千万\d])(?P<d>\d+|[一二两三四五六七八九十]+) ?分之 ?(?P<n>{_AR}|[一二两三四五六七八九十]+)",
    re.ASCII,
)
_RUN_UNITS = {"交易日": "days", "日": "days", "天": "days", "周": "weeks", "星期": "weeks",
              "个月": "months", "月": "months", "年": "years", "季度": "quarters", "季": "quarters"}  # fmt: skip

# --- what is not a metric: masked (blanked, same length) before numbers are read ---------

_MASKS = [
    NUMERIC_DATE_RE,
    re.compile(
        r"(?:上午|下午|晚上|早上|凌晨|中午|傍晚|晚间|早间|夜间|清晨|今晚|明早) ?\d{1,2}(?:[:：]\d{2})? ?[点时]"
    ),
    re.compile(r"https?://\S+|www\.[\w./-]+|[\w.+-]+@[\w-]+\.[\w.]+", re.ASCII),
    # stock codes: 0700.HK, 601318.SH, BABA.US; codes in brackets; "代号: 9988"
    re.compile(r"\b\d{1,6}\.(?:HK|SH|SZ|SS|US|TW|KS|T|N|O)\b", re.ASCII | re.IGNORECASE),
    re.compile(r"(?<=[(（])\d{4,6}(?=[)）,，;；、])", re.ASCII),
    re.compile(r"(?:代号|代码|编号)[:：]? ?\d+", re.ASCII),
    re.compile(r"(?<!\d)0\d{4}(?!\d)", re.ASCII),  # HK codes written 00700
    re.compile(r"\+\d{1,3}[ -]?\d{3,4}[ -]?\d{3,4}", re.ASCII),  # phone numbers
    # dates and times
    re.compile(r"\d{4} ?年 ?\d{1,2} ?月 ?\d{1,2} ?[日号]|\d{1,2} ?月 ?\d{1,2} ?[日号]", re.ASCII),
    re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[:：]\d{2}(?:[:：]\d{2})?", re.ASCII),
    re.compile(
        r"(?:19|20)\d{2} ?(?:财年|财政年度|年度|年|财季)|(?:19|20)\d{2}(?= ?[-至到~] ?(?:19|20)\d{2} ?年)",
        re.ASCII,
    ),
    re.compile(r"[(（]\d{1,4}[)）] ?(?:年|月|日)|[(（]\d{1,2} ?日[)）]", re.ASCII),
    re.compile(r"(?<![\d.])\d{1,2} ?月(?:份|底|初|中|末|上旬|中旬|下旬)?", re.ASCII),
    re.compile(r"\d{1,2} ?点 ?\d{1,2} ?分|\d{1,2} ?时(?:正|许|左右)?", re.ASCII),
    # quarters, halves, windows
    re.compile(
        r"\b[QH][1-4]\b|(?<!连)(?<!连续)[1-4] ?季度?|第 ?[一二三四1-4] ?季度?|[一二三四]季度",
        re.ASCII,
    ),
    re.compile(
        r"\d+ ?(?:日|天|周|月)(?:均线|线|移动平均线|移动线|均价|平均线|新高|新低|高位|低位)",
        re.ASCII,
    ),
    re.compile(r"\d+ ?(?:周年|岁|届)", re.ASCII),
    re.compile(r"\d{1,3} ?(?:年|个月|天|日|周|小时|分钟)(?:来|以来|内|间|后|前|期)", re.ASCII),
]

# ranks ("第3名", "前100", "TOP 20", "500强"); applied after runs read "连续第三日"
_RANK_MASKS = [
    re.compile(
        r"第 ?(?:\d+|[一二三四五六七八九十百千]+)|前 ?\d+|TOP ?\d+|\d+ ?强",
        re.ASCII | re.IGNORECASE,
    )
]
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-")
_ALLOWED_PREFIX = re.compile(r"^(?:RMB|CNY|HKD|USD|PE|PB|PS|TTM)(?=\d)")
_RANGE_RE = re.compile(rf" ?(?:-|~|～|至|到|—) ?(?={_AR})", re.ASCII)

# --- context -------------------------------------------------------------------------------

QUALIFIERS = [
    (r"不超过|不高于|不多于|最多|至多|多达|高达|上限", "up_to"),
    (r"超过|超出|超|逾|多于|突破|至少|不少于|不低于|站上|重上|升破|涨破", "over"),
    (r"接近|将近|逼近|近乎|近", "nearly"),
    (r"大约|约为|约合|约|大概|预计约", "about"),
    (r"不足|不到|少于|低于|跌破|未满", "under"),
]
_QUALIFIER_RE = [(re.compile(rf"(?:{p})(?:了)? ?$"), name) for p, name in QUALIFIERS]
_AFTER_QUALIFIER_RE = [
    (re.compile(r"^ ?(?:以上|之上|有余|出头)"), "over"),
    (re.compile(r"^ ?(?:左右|上下|前后)"), "about"),
    (re.compile(r"^ ?(?:以下|之下|以内|之内)"), "under"),
]
UP = (r"上涨|上升|上扬|增长|增加|提升|提高|攀升|飙升|大涨|暴涨|急涨|收涨|续涨|走高|高开|开高|"
      r"拉升|反弹|回升|上调|调升|调高|走扬|升值|增|涨|升|扬|翻倍")  # fmt: skip
DOWN = (r"下跌|下降|下滑|下挫|回落|减少|缩减|收缩|收跌|续跌|走低|低开|开低|大跌|暴跌|急跌|下调|"
        r"调降|调低|走跌|贬值|跌|降|减|挫|缩|亏损|亏")  # fmt: skip
_DIRECTION_RE = re.compile(rf"(?P<up>{UP})|(?P<down>{DOWN})")
BASES = [
    (
        r"同比|按年|年增|年减|年升|年降|年跌|年涨|较上年|较去年|比去年|去年同期|上年同期|按年计",
        "yoy",
    ),
    (r"环比|按月|月增|月减|较上月|比上月", "mom"),
    (r"按季|季增|季减|较上季|比上季", "qoq"),
]
_BASIS_RE = [(re.compile(p), name) for p, name in BASES]
_CLAUSE_END = re.compile(r"[,，;；:：。!！?？()（）\[\]【】《》「」『』\"“”]")
_SUBJECT_CLAUSE_END = re.compile(r"[,，;；:：。!！?？\[\]【】《》「」『』\"“”|｜]")
_BRACKETS_RE = re.compile(r"[(（][^()（）]*[)）]")
_SUBJECT_LEAD = re.compile(
    r"^(?:以|在|从|由|对|较|比|据|截至|于|而|但|并|且|其中|另|如|和|与|及|则|其|当|将|已|即|高于|低于|"
    r"这是|这|那|该|此|实际上|事实上|不过|此外|同时|包括)+"
)
_SUBJECT_STOP = re.compile(
    rf"(?:{UP}|{DOWN}|收于|收在|收报|报|达到|达|约为|分别为|(?<!华|成|因|作|认|行|称)为|录得|实现|净买入|净卖出|净流入|净流出|成交|"
    r"合计|累计|共|总计|约|超|逾|近|至|到|占|持有|拥有|获得|斩获|完成|的)"
)
_SUBJECT_TRIM = re.compile(
    r"(?:今日|今天|昨日|昨天|今|终场|全日|全天|盘中|早盘|午后|尾盘|收盘|开盘|日内|本周|上周|当日|当天|"
    r"目前|截至|期内|同期|上半年|下半年|今年|去年|全年|年内|此前|其中|仅|均|则|也|已|再|续|并|"
    r"同比|环比|按年|按月|按季|年|月|季|预计|预期|却|更是|大幅|分别|一度|仍|将|累计|累|劲|都|共|又|还|"
    r"已经|最终|合计|总计|较前一交易日|较)+$"
)
_NOT_AFTER_DEMONSTRATIVE = re.compile(
    r"(?:上述|以上|以下|如下|下列|这|那|该|此|其|前|后|每|各|头|首|另|余下|剩下|其余|仅剩)$"
)
_DATE_RE = re.compile(
    r"(?:(?P<y>\d{4}) ?年 ?)?(?P<m>\d{1,2}) ?月 ?(?P<d>\d{1,2}) ?[日号]|今[(（](?P<td>\d{1,2})[)）]日",
    re.ASCII,
)


class ZhMetricExtractor:
    """Extracts distinct metrics from the sentences of a Chinese article."""

    def extract(self, sents: list[Sentence], published: date | None) -> list[Metric]:
        found: dict[tuple[str, float, str], Metric] = {}
        doc = _Doc()
        for sent in sents:
            norm = normalize(sent.text)
            doc.traditional = doc.traditional or _is_traditional(sent.text, norm)
            doc.sentence, doc.sentence_currency, doc.sentence_money_end = norm, None, 0
            for metric in self._sentence(sent, norm, published, doc):
                merge_mention(found, metric)
            same_below = _SAME_BELOW_RE.search(norm)
            if same_below:
                doc.yuan = _PAREN_CURRENCY.get(same_below.group("cur"), "TWD")
            doc.market = _market_before(norm, len(norm), doc.market)
        return sorted(found.values(), key=lambda m: m.start)

    # -- one sentence ---------------------------------------------------------------------

    def _sentence(
        self, sent: Sentence, norm: str, published: date | None, doc: _Doc
    ) -> list[Metric]:
        if not _ANY_NUMBER_RE.search(norm):
            return []
        masked = _masked(norm, _MASKS)
        out: list[Metric] = []
        for pattern, read in (
            (_RUN_RE, self._run),
            (_PER_CENT_RE, self._per_cent),
            (_FRACTION_RE, self._fraction),
        ):
            for hit in pattern.finditer(masked):
                metric = read(hit, masked, sent)
                if metric is not None:
                    out.append(metric)
                masked = _blank(masked, hit.start(), hit.end())
        masked = _masked(masked, _RANK_MASKS)
        consumed = 0
        for m in _NUMBER_RE.finditer(masked):
            if m.start() < consumed:
                continue
            doc.market = _market_before(norm, m.start(), doc.market)
            metric, end = self._number(m, masked, sent, doc)
            consumed = max(consumed, end)
            if metric is not None:
                out.append(metric)
        _attach_dates(out, _dates(norm, published), sent.start)
        return out

    def _run(self, run: re.Match[str], masked: str, sent: Sentence) -> Metric | None:
        """A run of sessions: "连续三日走扬" (3 days), "连2跌", "周K连3红" (3 weeks)."""
        group = "n" if run.group("n") else "n2"
        count = _value_of(run.group(group))
        if count is None or count < 2 or count != int(count):
            return None
        unit = _RUN_UNITS[run.group("unit")] if run.group("unit") else "days"
        if not run.group("unit") and re.search(
            r"周 ?K|周线|周$|月线|月 ?K", masked[max(0, run.start() - 6) : run.start()]
        ):
            unit = "weeks"
        return self._metric(
            sent, "count", count, unit, run.start(group), run.end(), run.end(group), None,
            masked[: run.start(group)], masked[run.end() :],
        )  # fmt: skip

    def _fraction(self, m: re.Match[str], masked: str, sent: Sentence) -> Metric | None:
        whole, part = _value_of(m.group("d")), _value_of(m.group("n"))
        if whole is None or part is None or not 0 < part <= whole:
            return None
        return self._metric(
            sent, "percent", Decimal(100) * part / whole, "pct", m.start(), m.end(), m.end(),
            None, masked[: m.start()], masked[m.end() :],
        )  # fmt: skip

    def _per_cent(self, m: re.Match[str], masked: str, sent: Sentence) -> Metric | None:
        value = _value_of(m.group("n").replace("点", "."))
        if value is None:
            return None
        return self._metric(
            sent, "percent", value, "pct", m.start(), m.end(), m.end(), None,
            masked[: m.start()], masked[m.end() :],
        )  # fmt: skip

    def _number(
        self, m: re.Match[str], masked: str, sent: Sentence, doc: _Doc
    ) -> tuple[Metric | None, int]:
        """The metric a number starts, if any, and where its unit ends."""
        start, end = m.start(), m.end()
        before = masked[:start]
        chinese = m.group("cn") is not None
        raw = m.group("cn") if chinese else m.group("num")
        if not chinese and _name_like(masked, start, end):
            return None, end
        value = _cn_value(raw) if chinese else Decimal(raw.replace(",", ""))
        if value is None:
            return None, end
        if m.group("sign"):
            value = -value
        more, scaled = False, chinese and any(c in raw for c in "千万亿")
        scale_m = _SCALE_RE.match(masked, end)
        if scale_m and (scale_m.group("more") or scale_m.group("scales")):
            more = bool(scale_m.group("more"))
            scales = scale_m.group("scales").replace(" ", "")
            if scales:
                value, scaled = _apply_scales(value, scales), True
            end = scale_m.end()
            if scaled and not more:
                second = _SECOND_RE.match(masked, end)
                if second and SCALES[second.group("scale")] < SCALES[_last_scale(scales)]:
                    part = Decimal(second.group("num").replace(",", ""))
                    value += part * SCALES[second.group("scale")]
                    end = second.end()
            if not more and masked[end : end + 1] in ("多", "余"):
                more, end = True, end + 1
        unit_at, ranged = end, False
        kind, unit, unit_len, noun_len = self._unit(
            value, chinese, scaled, before, masked[end:], doc
        )
        if kind is None and not chinese and not scaled and not more:
            # a range "700至750港元", "3-5亿元": the first number takes the second one's unit
            link = _RANGE_RE.match(masked, end)
            tail = _NUMBER_RE.match(masked, link.end()) if link else None
            if tail is not None and tail.group("num"):
                unit_at, ranged = tail.end(), True
                tail_scale = _SCALE_RE.match(masked, unit_at)
                if tail_scale and tail_scale.group("scales"):
                    scales = tail_scale.group("scales").replace(" ", "")
                    value, scaled = _apply_scales(value, scales), True
                    unit_at = tail_scale.end()
                kind, unit, unit_len, noun_len = self._unit(
                    value, chinese, scaled, before, masked[unit_at:], doc
                )
                if kind == "count":
                    kind = None  # "5到10个": a span of counts, not a count
        if kind is None and scaled and not chinese and _ELLIPSIS_END_RE.match(masked, end):
            # the unit said once for the sentence: "成交额2兆5,467亿元...连续八日突破2兆",
            # "付费用户数同比增长8.3%至1.229亿"
            kind, unit = _elided_unit(doc, before)
        if kind is None or unit is None:
            return None, end
        if unit == "cheng":
            value, unit = value * 10, "pct"
        if chinese and not _chinese_quantifies(kind, raw, value, before, noun_len > 0):
            return None, end
        if kind in ("money", "price", "count") and value == 0:
            return None, end
        unit_end = unit_at + unit_len
        if kind == "money":
            doc.sentence_currency, doc.sentence_money_end = unit, unit_end
        metric = self._metric(
            sent, kind, value, unit, start, unit_at + max(unit_len, noun_len), m.end(),
            "over" if more else None, before, masked[unit_end:],
        )  # fmt: skip
        return metric, (end if ranged else unit_end)

    def _unit(
        self,
        value: Decimal,
        chinese: bool,
        scaled: bool,
        before: str,
        after: str,
        doc: _Doc,
    ) -> tuple[str | None, str | None, int, int]:
        """(kind, unit, where the unit ends in ``after``, where a counted noun ends)."""
        lead = 1 if after.startswith(" ") else 0
        rest = after[lead:]
        if m := _PERCENT_RE.match(rest):
            end = lead + m.end()
            if _PERCENTILE_AFTER_RE.match(after[end:]) or "分位" in _clause(before):
                return "percentile", "pct", end, 0
            return "percent", "pct", end, 0
        if m := _PERCENTILE_RE.match(rest):
            return "percentile", "pct", lead + m.end(), 0
        cheng = _CHENG_RE.match(rest)
        if (
            cheng
            and not scaled
            and 0 < value <= 10
            and value == int(value)
            and not (chinese and rest.startswith("成不"))
        ):
            return "percent", "cheng", lead + cheng.end(), 0
        if rest.startswith("倍") and not scaled:
            return "multiple", "x", lead + 1, 0
        currency, cur_end, per_share = self._currency(before, rest, scaled, doc)
        if currency is not None:
            if per_share or not (scaled or abs(value) >= 100_000):
                return "price", currency, lead + cur_end, 0
            return "money", currency, lead + cur_end, 0
        # "2万点", "逾千点": an index level or move in scale words or Chinese numerals is
        # at least a hundred points; smaller ones read as clock times ("三点")
        big = abs(value) >= (1000 if scaled else 100)
        if (m := _POINTS_RE.match(rest)) and (big or not (chinese or scaled)):
            if _TIME_BEFORE_RE.search(before) or rest.startswith(("点钟", "点半")):
                return None, None, 0, 0
            direct = _DIRECTION_RE.search(before[-4:]) is not None
            if abs(value) >= 100 or value != int(value) or direct:
                return "index_points", "points", lead + m.end(), 0
            return None, None, 0, 0
        if (
            not scaled
            and not chinese
            and abs(value) >= 1000
            and _LEVEL_VERB_BEFORE.search(before)
            and _INDEX_IN_CLAUSE.search(before)
            and not _CURRENCY_SUFFIX_RE.match(rest)
        ):  # "恒指收市報19,435，跌387點": an index's level, its unit left to the reader
            return "index_points", "points", lead, 0
        counted = self._count(value, scaled, before, rest)
        if counted is not None:
            noun, unit_end, noun_end = counted
            return "count", noun, lead + unit_end, lead + noun_end if noun_end else 0
        return None, None, 0, 0

    def _currency(
        self, before: str, rest: str, scaled: bool, doc: _Doc
    ) -> tuple[str | None, int, bool]:
        m = _CURRENCY_SUFFIX_RE.match(rest)
        if m:
            code = _CURRENCY_CODE[m.group("cur")]
            if m.group("cur") == "元":
                prefix = _CURRENCY_PREFIX_RE.search(before)
                if prefix:
                    code = _prefix_code(prefix)
                else:
                    code = _bare_yuan(doc, before, rest[m.end() :], bool(m.group("per")), scaled)
            if m.group("paren"):
                code = _PAREN_CURRENCY[m.group("paren").strip(" (（,，)）")]
                return code, m.end("cur"), bool(m.group("per"))
            return code, m.end(), bool(m.group("per"))
        prefix = _CURRENCY_PREFIX_RE.search(before)
        if prefix and (prefix.group("sym") or scaled):
            return _prefix_code(prefix), 0, False
        if scaled and (p := _PAREN_UNIT_RE.match(rest)):
            return _PAREN_CURRENCY[p.group("cur")], p.end(), False
        return None, 0, False

    def _count(
        self, value: Decimal, scaled: bool, before: str, rest: str
    ) -> tuple[str, int, int] | None:
        """(English plural noun, end of the measure word, end of the noun) of a count."""
        if value < 1 or (value != int(value) and not scaled):
            return None
        if _RANK_BEFORE_RE.search(before):
            return None  # a rank or a change of rank, not a number of things
        m = _MEASURE_RE.match(rest)
        if m is None:
            bare = _BARE_NOUN_RE.match(rest)
            if bare is None or (not scaled and not bare.group().startswith(("人", "用户"))):
                return None
            return NOUNS.get(bare.group(), "people"), bare.end(), 0
        measure = m.group("m")
        if _TIME_NOUNS.match(rest[m.end() :]) or _TIME_NOUNS.match(rest):
            return None  # "3个月", "24个交易日": durations are not counts
        if measure == "人":
            return _people_named(before) or "people", m.end(), 0
        if measure == "件" and _PARCEL_RE.search(before):
            return "parcels", m.end(), 0
        if measure in _FIXED_MEASURES:
            return _FIXED_MEASURES[measure], m.end(), 0
        noun = _noun_after(rest[m.end() :])
        if noun is not None and measure == "类":
            return None  # "3类解决方案(包括...)": kinds of a thing head a list, they count nothing
        if noun is not None:
            word, noun_end = noun
            if measure == "家" and NOUNS[word] not in _FIRM_KINDS:
                return "companies", m.end(), m.end() + noun_end
            return NOUNS[word], m.end(), m.end() + noun_end
        # the noun may stand before the number: "企业超过4100家", "员工约11.3万名"
        prior = _NOUN_BEFORE_RE.search(before)
        if prior:
            return NOUNS[prior.group("noun")], m.end(), 0
        default = MEASURES.get(measure)
        if default is None:
            return None
        return default, m.end(), 0

    def _metric(
        self,
        sent: Sentence,
        kind: str,
        value: Decimal,
        unit: str,
        start: int,
        end: int,
        num_end: int,
        qualifier: str | None,
        before: str,
        after: str,
    ) -> Metric:
        text = sent.text
        tail = _CLAUSE_END.split(before)[-1]
        offset = start - len(tail)  # where ``tail`` starts in the sentence
        span_start = start
        for pattern, name in _QUALIFIER_RE:
            q = pattern.search(tail)
            if q:
                qualifier = qualifier or name
                span_start = offset + q.start()
                break
        direction = None
        if kind in ("percent", "money", "price", "index_points"):
            hits = list(_DIRECTION_RE.finditer(tail[-8:]))
            if hits:
                last = hits[-1]
                direction = "up" if last.group("up") else "down"
                verb_at = offset + len(tail) - len(tail[-8:]) + last.start()
                if span_start - (verb_at + len(last.group())) <= 1:
                    span_start = min(span_start, verb_at)
        if qualifier is None:
            for pattern, name in _AFTER_QUALIFIER_RE:
                q = pattern.match(after)
                if q:
                    qualifier = name
                    end += q.end()
                    break
        basis = None
        if kind in ("percent", "money", "count"):
            basis = _basis(tail, _CLAUSE_END.split(after)[0][:8])
        return Metric(
            kind=kind,
            value=float(value),
            unit=unit,
            text=text[span_start:end].strip(),
            sentence=text,
            start=sent.start + start,
            subject=_subject(before),
            qualifier=qualifier,
            basis=basis,
            direction=direction,
            spans=[(sent.start + start, sent.start + num_end)],
        )


# --- helpers -------------------------------------------------------------------------------


@dataclass
class _Doc:
    """What the article said so far that later numbers read: the currency bare 元 stands
    for when it declared one ("(人民币,下同)"), its script, the market of the last code."""

    yuan: str | None = None
    traditional: bool = False
    market: str | None = None
    sentence: str = ""  # the current sentence, normalised
    sentence_currency: str | None = None  # of the last amount of the current sentence
    sentence_money_end: int = 0  # where that amount ends


_MARKET_RE = re.compile(
    r"\d{1,6}\.(?P<market>HK|SH|SZ|SS|TW|US)\b"
    # a five-digit code in brackets is a Hong Kong one: 腾讯(00700), 美团-W(03690)
    r"|[(（] ?(?P<hk>0\d{4}) ?[)）]"
    r"|(?<=[\u4e00-\u9fff])(?<![今去明前本上下])[(（] ?(?P<hk2>\d{3,4}) ?[)）](?![年月日号])"
    # a Hong Kong market wrap names its index or market
    r"|(?P<hkcue>港股|恒指|恒生指数|恒生科技指数|科指|国企指数|港交所)",
    re.IGNORECASE,
)
_MARKET_YUAN = {"HK": "HKD", "TW": "TWD"}
_SHARE_PRICE_BEFORE = re.compile(
    r"(?:股价|目标价|报|收于|收报|收市|收在|(?<![营月])收(?![入益])|高位|低位|升至|跌至|回落至|回升至|水平|支持|阻力|买入|吸纳|"
    r"止蚀|止损|沽出|招股价|发行价|每股|价格|价位|上试|下试|跌穿|升穿|失守|守住|企稳|重上|站上|跌破|线|高见|低见|最高|最低)[^,，;；]{0,6}$"
)
_FLOW_WORDS_RE = re.compile(r"成交|净买|净卖|净流入|净流出|资金")
_MARKET_CUES = [
    (re.compile(r"港股|恒指|恒生指数|大市|主板|港交所|北水|南向"), "HKD"),
    (re.compile(r"台股|加权指数|台湾证交所|柜买|上柜|集中市场"), "TWD"),
]
_LEVEL_VERB_BEFORE = re.compile(
    r"(?:收报|收市报|收市|收于|收在|报|收|企稳|站稳|重上|失守|站上|跌穿|升穿|跌破|突破|守住|见) ?$"
)
_INDEX_IN_CLAUSE = re.compile(
    r"恒指|恒生指数|科指|恒生科技指数|国企指数|上证指数|沪指|深成指|创业板指|沪深300|大市|指数"
)
_MAINLAND_RE = re.compile(
    r"沪深|两市|沪指|深指|深成|A股|上证|深证|创业板|北向|陆股|大陆|内地|人民币"
)
_SHARE_PRICE_AFTER = re.compile(r"^ ?(?:高位|低位|水平|关口|附近|支持|阻力|以上|以下|/股|每股)")


def _bare_yuan(doc: _Doc, before: str, after: str, per_share: bool, scaled: bool) -> str:
    """Bare 元: the currency the article declared, else 人民币; a share price of a Hong Kong
    (Taiwan) listed stock is in HK (Taiwan) dollars, whatever the script ("騰訊收報624元");
    a flow or turnover in a Traditional-script Hong Kong market summary too."""
    if doc.yuan is not None:
        return doc.yuan
    if (
        not scaled
        and doc.market in _MARKET_YUAN
        and (
            per_share
            or _SHARE_PRICE_BEFORE.search(_clause(before))
            or _SHARE_PRICE_AFTER.match(after)
        )
    ):
        return _MARKET_YUAN[doc.market]
    if not doc.traditional:
        return "CNY"
    if _FLOW_WORDS_RE.search(_clause(before)):
        # a Hong Kong (Taiwan) market wrap: "大市成交2,318億元", "北水淨買入50億元"
        for market_re, code in _MARKET_CUES:
            if market_re.search(doc.sentence):
                return code
        if doc.market in _MARKET_YUAN and not _MAINLAND_RE.search(doc.sentence):
            return _MARKET_YUAN[doc.market]  # a Hong Kong (Taiwan) wrap: "全日成交1,577億元"
    return "CNY"


def _market_before(norm: str, pos: int, current: str | None) -> str | None:
    """The market of the last stock code before ``pos`` (``current`` when none)."""
    codes = list(_MARKET_RE.finditer(norm, 0, pos))
    if not codes:
        return current
    last = codes[-1]
    return last.group("market").upper() if last.group("market") else "HK"


def _is_traditional(original: str, norm: str) -> bool:
    return any(a != b and "\u4e00" <= a <= "\u9fff" for a, b in zip(original, norm, strict=True))


def _clause(before: str) -> str:
    return _CLAUSE_END.split(before)[-1]


_ELLIPSIS_END_RE = re.compile(r" ?(?:[,，;；。!！?？)）、]|$)")
# who a bare count of people or a unit-less amount is about, when the sentence named them
_PEOPLE_NOUNS = {"用户": "users", "付费用户": "users", "活跃用户": "users", "会员": "members",
                 "员工": "employees", "游客": "visitors", "乘客": "passengers", "旅客": "passengers",
                 "股东": "shareholders", "投资者": "investors", "订阅用户": "users"}  # fmt: skip
_PEOPLE_RE = re.compile("|".join(sorted(_PEOPLE_NOUNS, key=len, reverse=True)))
_MONEY_WORDS = re.compile(
    r"收入|营收|利润|盈利|金额|成本|市值|资金|交易额|成交额|费用|开支|投入|元|美元|港元"
)


def _people_named(before: str) -> str | None:
    """The people noun the sentence named before a number, if no amount came between."""
    hits = list(_PEOPLE_RE.finditer(before))
    if not hits or _MONEY_WORDS.search(before, hits[-1].end()):
        return None
    return _PEOPLE_NOUNS[hits[-1].group()]


def _elided_unit(doc: _Doc, before: str) -> tuple[str | None, str | None]:
    """The unit of the nearest earlier statement of the sentence: its last amount's
    currency, or the people it named after that amount."""
    people = _people_named(before[doc.sentence_money_end :])
    if people is not None:
        return "count", people
    if doc.sentence_currency is not None:
        return "money", doc.sentence_currency
    return None, None


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _masked(text: str, patterns: list[re.Pattern[str]]) -> str:
    """``text`` with what ``patterns`` find blanked (same length)."""
    for pattern in patterns:
        text = pattern.sub(spaces, text)
    return text


def _name_like(masked: str, start: int, end: int) -> bool:
    """Part of a name or identifier: Qwen3, GPT-5, RynnVLA-001-7B, 20B, 3C, T+2, A500."""
    i, j = start, end
    while i > 0 and masked[i - 1] in _TOKEN_CHARS:
        i -= 1
    while j < len(masked) and masked[j] in _TOKEN_CHARS:
        j += 1
    token = _ALLOWED_PREFIX.sub("", masked[i:j])
    return any(c.isalpha() for c in token)


@lru_cache(maxsize=4096)
def _cn_value(raw: str) -> Decimal | None:
    """A run of Chinese numerals as a number: 七千 = 7000, 两 = 2, 千亿 = 1e11."""
    text = raw.replace("两", "二").replace("〇", "零")
    if text[0] in "千百万亿":
        text = "一" + text
    try:
        return Decimal(str(cn2an.cn2an(text, "normal")))
    except (ValueError, KeyError, IndexError, InvalidOperation, TypeError):
        return None


def _value_of(raw: str) -> Decimal | None:
    if raw[0].isdigit():
        return Decimal(raw.replace(",", ""))
    if "." in raw:  # 百分之三点五
        whole, _, frac = raw.partition(".")
        head = _cn_value(whole) if whole else None
        digits = "".join(str(_cn_value(c) or 0) for c in frac if c in _CN_CHARS)
        return None if head is None or not digits else head + Decimal("0." + digits)
    return _cn_value(raw)


def _last_scale(scales: str) -> str:
    return "万亿" if scales.endswith("万亿") else scales[-1]


def _apply_scales(value: Decimal, scales: str) -> Decimal:
    i = 0
    while i < len(scales):
        word = "万亿" if scales.startswith("万亿", i) else scales[i]
        value *= SCALES[word]
        i += len(word)
    return value


def _prefix_code(prefix: re.Match[str]) -> str:
    if prefix.group("sym"):
        return _SYMBOLS[prefix.group("sym")]
    return _PAREN_CURRENCY[prefix.group("word")]


# "数十亿", "几百": several, not a number (参数, 指数, 人数 are words ending in 数)
_VAGUE_BEFORE_RE = re.compile(
    r"(?:(?<![参指系分人倍函次基变常总个半多少件户点位岁度读笔])数|几|若干)$"
)


def _chinese_quantifies(kind: str, raw: str, value: Decimal, before: str, noun: bool) -> bool:
    """Chinese numerals are words as often as numbers: 一是, 三大指数, 万科, 千问, 百度.
    They count here only as a tenth (三成), an amount with its currency, or a count of two
    or more with its measure word and the noun it counts (两个版本, 三家平台企业), not
    after "the" words (上述四家, 以下四项工作, 前十, 这两个)."""
    if kind == "percent":
        return True
    if _VAGUE_BEFORE_RE.search(before):
        return False  # "数十亿": several, not a number
    if kind in ("money", "price"):
        if raw[0] in "千百万亿":
            return bool(re.search(r"(?:超过|超|逾|近|约|达|上)$", before))
        return True
    if kind == "count":
        return value >= 2 and (noun or value >= 10) and not _NOT_AFTER_DEMONSTRATIVE.search(before)
    return False


def _noun_after(text: str) -> tuple[str, int] | None:
    """The counted noun just after a measure word: the first noun of the phrase, or the
    compound it starts (手游 + 商 = 手游商, companies), up to 和/与/及/、."""
    window = _NOUN_WINDOW_RE.match(text)
    if window is None:
        return None
    phrase = _NOUN_STOP_RE.split(window.group())[0]
    first = _NOUN_RE.search(phrase)
    if first is None or first.start() > 4:
        return None
    word, end = first.group(), first.end()
    while (nxt := _NOUN_RE.match(phrase, end)) is not None:
        word, end = nxt.group(), nxt.end()
    return word, end


def _basis(tail: str, after: str) -> str | None:
    """The comparison stated nearest the number: before it in its clause, or just after."""
    best: tuple[int, str] | None = None
    window = tail[-12:]
    for pattern, name in _BASIS_RE:
        for hit in pattern.finditer(window):
            if best is None or hit.end() > best[0]:
                best = (hit.end(), name)
    if best is not None:
        return best[1]
    for pattern, name in _BASIS_RE:
        if pattern.match(after.lstrip(" ")):
            return name
    return None


def _subject(before: str) -> str | None:
    """The noun phrase the clause says the number is about: its head up to the first verb
    ("恒指终场收于" -> 恒指), brackets (codes) dropped."""
    clause = _SUBJECT_CLAUSE_END.split(_BRACKETS_RE.sub("", before))[-1]
    clause = re.sub(r"\s+", "", clause)
    stop = _SUBJECT_STOP.search(clause)
    if stop is None:
        return None
    head = _SUBJECT_LEAD.sub("", clause[: stop.start()])
    head = _SUBJECT_TRIM.sub("", head).strip("、-")
    if len(head) < 2 or len(head) > 14 or re.search(r"\d", head):
        return None
    return head


def _attach_dates(metrics: list[Metric], dates: list[DateMention], offset: int) -> None:
    """A date belongs to the nearest metric of its sentence with no other metric between
    (the English extractor's rule)."""
    for d in dates:
        best: Metric | None = None
        best_gap = 0
        for metric in metrics:
            pos = metric.start - offset
            lo, hi = sorted((pos, d.start))
            if any(x is not metric and lo < x.start - offset < hi for x in metrics):
                continue
            if best is None or abs(pos - d.start) < best_gap:
                best, best_gap = metric, abs(pos - d.start)
        if best is not None and best.date is None:
            best.date = d.day.isoformat()


def _dates(norm: str, published: date | None) -> list[DateMention]:
    out: list[DateMention] = []
    for m in _DATE_RE.finditer(norm):
        try:
            if m.group("td"):
                if published is None:
                    continue
                day = date(published.year, published.month, int(m.group("td")))
            else:
                month, dom = int(m.group("m")), int(m.group("d"))
                if m.group("y"):
                    year = int(m.group("y"))
                elif published is not None:
                    year = published.year - (
                        1 if (month, dom) > (published.month, published.day) else 0
                    )
                else:
                    continue
                day = date(year, month, dom)
        except ValueError:
            continue
        out.append(DateMention(m.start(), m.end(), day))
    return out


__all__ = ["ZhMetricExtractor"]

"""Vocabularies and columns of the institution and clue layers.

Codes are stored in English (stable for programs); every code has the Chinese label users
type and read, and the alternative spellings found in real registries and hotline exports.
Lookup with :func:`parse_term` accepts a code, a label or any alias, in either language.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InputError
from core.settings import vocabulary_aliases, vocabulary_path


@dataclass(frozen=True)
class Term:
    """One value of a vocabulary: stored code, Chinese and English labels, accepted aliases."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


INSTITUTION_STATUSES: tuple[Term, ...] = (
    Term("white_list", "白名单", "white list", ("有证有照", "证照齐全", "已审批", "白名单机构", "white")),
    Term("black_list", "黑名单", "black list", ("黑名单机构", "black")),
    Term("licensed_no_permit", "有照无证", "business licence, no school permit", ("有照无证机构",)),
    Term("unlicensed", "无证无照", "no licence, no permit", ("无证无照机构", "非法办学")),
    Term("converted_nonprofit", "营转非", "converted to non-profit", ("营利性转非营利性", "已营转非")),
    Term("deregistered", "已注销", "deregistered", ("注销", "已关停", "关停", "停办", "closed")),
)
INSTITUTION_KINDS: tuple[Term, ...] = (
    Term("subject", "学科类", "subject tutoring", ("学科", "学科类培训", "义务教育学科类")),
    Term("arts", "文化艺术类", "arts", ("艺术类", "艺术", "文艺类")),
    Term("sports", "体育类", "sports", ("体育",)),
    Term("science_tech", "科技类", "science and technology", ("科技", "科学技术类", "science", "tech")),
    Term("care", "托管机构", "after-school care", ("托管", "托管类", "午托", "晚托", "after-school")),
)
CLUE_CHANNELS: tuple[Term, ...] = (
    Term("hotline", "热线电话", "hotline", ("热线", "12345", "12398", "电话", "举报电话", "phone")),
    Term("wechat", "微信", "WeChat", ("微信公众号", "公众号", "小程序")),
    Term("mailbox", "信箱", "mailbox", ("邮箱", "电子邮件", "来信", "局长信箱", "email", "mail")),
    Term("supervisor", "社会监督员", "social supervisor", ("监督员", "社会监督")),
    Term("grid_member", "网格员上报", "grid member", ("网格员", "网格上报", "楼长")),
    Term("volunteer", "志愿者上报", "volunteer", ("志愿者", "家长志愿者")),
    Term("inspection", "检查发现", "found on an inspection", ("巡查发现", "检查中发现")),
    Term("other", "其他", "other", ("其它", "来访", "走访")),
)
CLUE_CATEGORIES: tuple[Term, ...] = (
    Term("one_to_one", "一对一", "one-to-one tutoring", ("一对一辅导", "1对1")),
    Term("live_in_tutor", "住家教师", "live-in tutor", ("住家教师", "住家家教")),
    Term("crowdfunded_tutor", "众筹私教", "crowd-funded private tutor", ("众筹", "私教")),
    Term("domestic_front", "家政名义", "domestic-service front", ("家政", "家政服务")),
    Term("camp_or_tour", "营地/研学名义", "camp or study-tour front", ("夏令营", "冬令营", "研学", "游学", "营地")),
    Term("thinking_or_classics", "思维/国学名义", "'thinking' or classics front", ("思维训练", "国学", "读经")),
    Term("non_subject_front", "非学科名义", "arts/sports/tech front", ("以艺体科技名义", "素质类名义")),
    Term("recorded_or_online", "线上转录播", "live class turned recording / online", ("录播", "线上", "网课")),
    Term("serving_teacher", "在职教师有偿补课", "serving teacher tutoring for pay", ("在职教师", "有偿补课")),
    Term("unlicensed_school", "无证办学", "unlicensed teaching", ("无证无照", "非法办学")),
    Term("fees", "违规收费", "prepaid fees or charges", ("预收费", "收费", "退费")),
    Term("other", "其他", "other", ("其它",)),
)
CLUE_STATUSES: tuple[Term, ...] = (
    Term("received", "已受理", "received", ("受理", "待核查", "新", "new")),
    Term("verifying", "核查中", "verifying", ("核查", "待处置", "办理中")),
    Term("handled", "已处置", "handled", ("处置", "已查处", "已办结")),
    Term("answered", "已反馈", "answered", ("反馈", "已答复", "已回复", "办结反馈")),
)
CLUE_FLOW = tuple(term.code for term in CLUE_STATUSES)

# 暗访: what a covert visit records — only what anyone may see or ask as a customer, never papers
COVERT_ITEMS = ("fees", "materials", "qr_code", "gatekeeper", "fire", "surroundings")
COVERT_KINDS = ("institution", "place", "clue")

# What is checked on site (DOMAIN.md), in the order of the printed sheet.
CHECKLIST_ITEMS: tuple[Term, ...] = (
    Term("permits", "证照", "permits and licences", ("办学许可证", "营业执照", "证照情况", "证照齐全")),
    Term("staff", "人员资质", "staff qualifications", ("教师资格", "教师资格证", "从业人员", "在职教师")),
    Term("safety", "安全制度与应急预案", "safety rules, emergency plans, drills", ("安全制度", "应急预案", "应急演练")),
    Term("fire", "消防与疏散", "fire equipment, exits, escape routes", ("消防", "消防器材", "安全出口", "疏散通道")),
    Term("video", "视频监控", "video monitoring (90 days kept)", ("监控", "视频监控90天", "监控录像")),
    Term("gatekeeper", "门卫", "gatekeeper", ("门卫值守", "安保", "保安")),
    Term("surroundings", "周边环境", "surroundings", ("周边", "周边安全")),
    Term("materials", "培训材料", "training materials", ("教材", "培训教材", "材料")),
    Term("fees", "收费与资金监管", "fees and the supervised account", ("收费", "预收费", "资金监管", "监管账户")),
    Term("contract", "合同文本", "standard contract", ("合同", "示范合同", "规范合同")),
    Term("qr_code", "课程二维码", "course QR code", ("二维码", "一课一码", "qr", "qr code")),
)
CHECKLIST_HINTS_ZH: dict[str, str] = {
    "permits": "办学许可证、营业执照齐全，与实际办学地址、名称一致",
    "staff": "教师具备相应资格证，无中小学在职教师参与有偿补课",
    "safety": "安全管理制度、应急预案齐备，开展过应急演练",
    "fire": "消防器材有效，安全出口、疏散通道畅通",
    "video": "门口、大厅、教室视频监控全覆盖，录像保存不少于 90 天",
    "gatekeeper": "设有门卫（安保）人员值守",
    "surroundings": "周边环境安全，无安全隐患",
    "materials": "培训材料经审核，无超纲超前内容",
    "fees": "预收费不超过 3 个月或 60 课时且不超过 5000 元，全部进入资金监管账户",
    "contract": "使用规范（示范）合同文本",
    "qr_code": "张贴课程信息二维码（一课一码）",
}
CHECK_OUTCOMES: tuple[Term, ...] = (
    Term("ok", "合格", "ok", ("是", "√", "✓", "✔", "符合", "正常", "有", "yes", "pass")),
    Term("problem", "有问题", "problem", ("否", "×", "✗", "x", "不合格", "不符合", "问题", "no", "fail")),
    Term("not_checked", "未查", "not checked", ("不适用", "无法检查", "/", "-", "n/a", "na")),
)
ACTIONS: tuple[Term, ...] = (
    Term("none", "无", "none", ("无需处理", "未处理", "不处理", "—")),
    Term("rectify", "整改通知", "rectification notice", ("责令整改", "整改", "限期整改", "整改通知书")),
    Term("close", "停办通知", "closure notice", ("停止办学", "责令停办", "停办", "取缔", "停办通知书")),
    Term("refer", "抄告单", "referral to another department", ("移送", "抄告", "移交", "转办")),
)
FINDINGS: tuple[Term, ...] = (
    Term("confirmed", "属实", "confirmed", ("线索属实", "基本属实", "部分属实", "true")),
    Term("not_confirmed", "不属实", "not confirmed", ("线索不属实", "查无实据", "false")),
    Term("fixed", "已整改", "fixed", ("整改到位", "整改完成", "已完成整改")),
    Term("not_fixed", "未整改", "not fixed", ("整改未到位", "未完成整改", "仍未整改")),
)
#: Where an imported row stands on the map (``location_status``).
LOCATION_STATUSES: tuple[Term, ...] = (
    Term("placed", "已定位", "placed"),
    Term("to_confirm", "待确认", "to confirm"),
    Term("unlocated", "未定位", "not located"),
)
CASE_STATUSES: tuple[Term, ...] = (
    Term("rectifying", "整改中", "rectifying", ("整改期",)),
    Term("closed", "已销号", "closed", ("整改销号", "销号")),
    Term("withdrawn", "已撤销", "withdrawn", ("撤销",)),
)

VOCABULARIES: dict[str, tuple[Term, ...]] = {
    "status": INSTITUTION_STATUSES,
    "kind": INSTITUTION_KINDS,
    "channel": CLUE_CHANNELS,
    "category": CLUE_CATEGORIES,
    "clue_status": CLUE_STATUSES,
    "checklist": CHECKLIST_ITEMS,
    "check": CHECK_OUTCOMES,
    "action": ACTIONS,
    "finding": FINDINGS,
    "case_status": CASE_STATUSES,
    "location_status": LOCATION_STATUSES,
}


def _normal(text: str) -> str:
    return "".join(str(text).split()).lower()


def _checked_aliases() -> dict[str, dict[str, tuple[str, ...]]]:
    """The aliases of ``settings/vocabulary.toml``; one naming an unknown vocabulary or code is refused."""
    extra = vocabulary_aliases()
    for vocabulary, table in extra.items():
        if vocabulary not in VOCABULARIES:
            msg = (f"{vocabulary_path()}: [aliases.{vocabulary}] is not a vocabulary; use one of "
                   f"{', '.join(VOCABULARIES)}.")
            raise InputError(msg)
        codes = [term.code for term in VOCABULARIES[vocabulary]]
        for code in table:
            if code not in codes:
                msg = (f"{vocabulary_path()}: [aliases.{vocabulary}] {code} is not a code; "
                       f"use one of {', '.join(codes)}.")
                raise InputError(msg)
    return extra


#: Vocabularies whose values must match a name exactly: a registry status decides a site's risk,
#: so "正常营业" or "暂停营业" is rejected with the allowed values, never guessed from a word in it.
EXACT_VOCABULARIES = frozenset({"status"})


def parse_term(vocabulary: str, value: str) -> str | None:
    """Return the code for ``value`` in ``vocabulary``, or ``None``.

    ``value`` may be a code, a label or an alias (the built-in ones and those in
    ``settings/vocabulary.toml``), or — except in :data:`EXACT_VOCABULARIES` — contain exactly
    one of them ("12345热线").
    """
    wanted = _normal(value)
    if not wanted:
        return None
    extra = _checked_aliases().get(vocabulary, {})
    containing = set()
    for term in VOCABULARIES[vocabulary]:
        names = {_normal(v) for v in (term.code, term.zh, term.en, *term.aliases, *extra.get(term.code, ()))}
        if wanted in names:
            return term.code
        if vocabulary not in EXACT_VOCABULARIES and any(len(name) >= 2 and name in wanted for name in names):
            containing.add(term.code)
    return containing.pop() if len(containing) == 1 else None


def label(vocabulary: str, code: str, lang: str = "zh") -> str:
    """Return the display label of ``code`` (the code itself if unknown)."""
    for term in VOCABULARIES[vocabulary]:
        if term.code == code:
            return term.zh if lang == "zh" else term.en
    return str(code)


def choices(vocabulary: str, lang: str = "zh") -> str:
    """All labels of a vocabulary, for error messages (quoted in English: some labels hold a comma)."""
    if lang == "zh":
        return "、".join(term.zh for term in VOCABULARIES[vocabulary])
    return ", ".join(f"'{term.en}'" for term in VOCABULARIES[vocabulary])


# Column headers as bureaus write them, mapped to schema fields. Matching ignores spaces and case
# (and full-width forms: the header is NFKC-normalised first).
COORDINATE_HEADERS: dict[str, tuple[str, ...]] = {
    "lon": ("经度", "东经", "经度(E)", "经度（东经）", "经度坐标", "x坐标", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "北纬", "纬度(N)", "纬度（北纬）", "纬度坐标", "y坐标", "lat", "latitude", "y"),
    "lonlat": ("坐标", "经纬度", "经纬度坐标", "坐标(经度,纬度)", "位置坐标", "lnglat", "lonlat", "coordinates",
               "location"),
    "crs": ("坐标系", "坐标类型", "坐标系统", "crs", "coordinate system"),
}
#: Headers that look like coordinates; a file with such a column the importer does not understand
#: is refused (a user's coordinates are never ignored silently).
COORDINATE_HINTS = ("经", "纬", "坐标", "lon", "lat", "lng", "coord")
INSTITUTION_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("机构名称", "名称", "单位名称", "培训机构名称", "name", "institution"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit_code", "uscc", "credit code"),
    "permit_no": ("办学许可证号", "办学许可证", "许可证号", "permit_no", "permit", "permit number"),
    "status": ("状态", "机构状态", "监管状态", "status"),
    "kind": ("类别", "类型", "机构类别", "培训类别", "kind", "type", "category"),
    "address": ("地址", "办学地址", "详细地址", "经营地址", "address"),
    **COORDINATE_HEADERS,
    "last_inspected": ("最近检查日期", "上次检查日期", "检查日期", "last_inspected", "last inspection"),
}
CLUE_HEADERS: dict[str, tuple[str, ...]] = {
    "clue_id": ("编号", "线索编号", "工单号", "id", "clue_id", "number"),
    "received_at": ("受理时间", "接收时间", "举报时间", "received_at", "received", "time"),
    "channel": ("渠道", "来源", "举报渠道", "channel", "source"),
    "address": ("地址", "举报地址", "事发地址", "address"),
    "category": ("类别", "问题类别", "线索类别", "category", "type"),
    "content": ("内容", "举报内容", "线索内容", "content", "text"),
    **COORDINATE_HEADERS,
    "status": ("状态", "办理状态", "status"),
}
HEADER_LABELS_ZH = {field: names[0] for field, names in {**CLUE_HEADERS, **INSTITUTION_HEADERS}.items()}
#: The same columns named in English (for a message about a column the file does not have).
HEADER_LABELS_EN = {
    "name": "institution name", "credit_code": "credit code", "permit_no": "school permit number",
    "status": "status", "kind": "kind", "address": "address", "lon": "longitude", "lat": "latitude",
    "lonlat": "coordinates", "crs": "coordinate system", "last_inspected": "last inspected",
    "clue_id": "clue number", "received_at": "received at", "channel": "channel", "category": "category",
    "content": "content",
}

# Columns of the stored layers (besides geometry).
LOCATION_COLUMNS = [
    "address", "location_method", "location_confidence", "location_status", "location_note",
    "candidate_lon", "candidate_lat", "building_code", "community_code", "township_code",
]
INSTITUTION_COLUMNS = [
    "institution_id", "name", "credit_code", "permit_no", "status", "kind", *LOCATION_COLUMNS,
    "last_inspected", "registry_inspected", "source", "imported_at",
]
CLUE_COLUMNS = [
    "clue_id", "received_at", "channel", "category", "content", "status", *LOCATION_COLUMNS,
    "source", "imported_at",
]

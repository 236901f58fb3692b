"""The leaders' report as an XLSX workbook (XlsxWriter): one table per sheet, Chinese sheet names,
native Excel charts, every text cell written as text (never a formula)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

from layers import schema
from reports.figures import DoubleTen, Figures

NOTICE_NAMES = {"rectify": "整改通知", "close": "停办通知", "refer": "抄告单"}


def summary_rows(figures: Figures, compliance: DoubleTen) -> list[tuple[str, object]]:
    """The headline figures as (名称, 数值) rows, in the order a report lists them."""
    share = figures.answered_in_time_share
    return [
        ("统计期间", f"{figures.period.label}（{figures.period.start:%Y-%m-%d} 至 {figures.period.end:%Y-%m-%d}）"),
        ("检查次数", figures.inspections), ("覆盖社区（村）数", figures.communities_swept),
        ("检查机构数", figures.institutions_checked), ("其中托管机构数", figures.care_centres_checked),
        ("排查重点场所数", figures.places_checked), ("出动检查人员（人次）", figures.turnouts),
        ("发现问题（项）", sum(figures.problems_by_item.values())),
        *[(f"下达{NOTICE_NAMES[k]}（份）", v) for k, v in figures.notices_by_kind.items()],
        ("新立整改案件", figures.cases_opened), ("整改销号", figures.cases_closed),
        ("平均整改天数", "" if figures.mean_days_to_close is None else figures.mean_days_to_close),
        ("受理举报线索", figures.clues_received),
        *[(f"  其中{term.zh}", figures.clues_by_channel.get(term.code, 0)) for term in schema.CLUE_CHANNELS
          if figures.clues_by_channel.get(term.code, 0)],
        ("网格自查上报（无异常）", figures.grid_walks), ("网格自查覆盖网格数", figures.cells_walked),
        ("现场核查线索", figures.clues_verified),
        ("办结反馈线索", figures.clues_answered),
        ("按时办结率", "" if share is None else f"{100 * share:.1f}%"),
        ("登记巡查计划", figures.plans), ("撤回重排计划", figures.plans_withdrawn),
        ("双十原则：逾期未检机构", compliance.overdue), ("双十原则：缺口（组·天）", compliance.shortfall_team_days),
    ]


def report_xlsx(figures: Figures, compliance: DoubleTen) -> bytes:
    """The report workbook (see module doc)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    title = book.add_format({"bold": True, "font_size": 14})

    def sheet(name: str, heading: str, header: Sequence[str], rows: Sequence[Sequence[object]],
              widths: Sequence[int]) -> xlsxwriter.worksheet.Worksheet:
        page = book.add_worksheet(name)
        page.write_string(0, 0, heading, title)
        for col, (text, width) in enumerate(zip(header, widths, strict=True)):
            page.write_string(2, col, text, bold)
            page.set_column(col, col, width)
        for r, row in enumerate(rows, start=3):
            for c, value in enumerate(row):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    page.write_string(r, c, "" if value is None else str(value))
                else:
                    page.write_number(r, c, value)
        page.freeze_panes(3, 0)
        return page

    label = figures.period.label
    sheet("概览", f"校外培训巡查工作报告：{label}", ["指标", "数值"], summary_rows(figures, compliance), [30, 40])
    daily = compliance.daily
    days = sheet("每日检查", f"每日检查次数与双十目标：{label}", ["日期", "检查次数", "目标", "缺口"],
                 daily[["date", "inspections", "target", "short"]].to_numpy().tolist(), [12, 10, 8, 8])
    last = 2 + len(daily)
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "检查次数", "categories": ["每日检查", 3, 0, last, 0],
                      "values": ["每日检查", 3, 1, last, 1]})
    target = book.add_chart({"type": "line"})
    target.add_series({"name": "目标", "categories": ["每日检查", 3, 0, last, 0],
                       "values": ["每日检查", 3, 2, last, 2]})
    chart.combine(target)
    chart.set_title({"name": "每日检查次数"})
    days.insert_chart("F3", chart)
    township = figures.by_township
    sheet("分乡镇", f"分乡镇（街道）：{label}",
          ["乡镇代码", "乡镇（街道）", "检查次数", "覆盖社区", "发现问题", "下达通知"],
          township[["township_code", "township", "inspections", "communities", "problems", "notices"]]
          .to_numpy().tolist(), [12, 16, 10, 10, 10, 10])
    team = figures.by_team
    sheet("分检查组", f"分检查组：{label}",
          ["组号", "检查组", "出动班次", "出动人次", "检查次数", "发现问题", "下达通知"],
          team[["team_id", "team", "shifts", "turnouts", "inspections", "problems", "notices"]].to_numpy().tolist(),
          [8, 14, 10, 10, 10, 10, 10])
    items = [(term.zh, figures.problems_by_item[term.code]) for term in schema.CHECKLIST_ITEMS]
    problems = sheet("问题分类", f"按检查项目统计的问题：{label}", ["检查项目", "问题数"], items, [22, 10])
    bars = book.add_chart({"type": "bar"})
    bars.add_series({"name": "问题数", "categories": ["问题分类", 3, 0, 2 + len(items), 0],
                     "values": ["问题分类", 3, 1, 2 + len(items), 1]})
    bars.set_title({"name": "问题分类"})
    bars.set_legend({"none": True})
    problems.insert_chart("D3", bars)
    sheet("处理措施", f"下达的通知：{label}", ["通知", "份数"],
          [(NOTICE_NAMES[k], v) for k, v in figures.notices_by_kind.items()], [14, 8])
    overdue = compliance.institutions
    sheet("双十逾期", f"双十原则：截至 {figures.period.end:%Y-%m-%d} 各机构最近检查",
          ["机构编号", "机构名称", "乡镇（街道）", "最近检查", "距今天数", "逾期天数"],
          overdue[["institution_id", "name", "township", "last_visit", "days_since", "overdue_days"]]
          .to_numpy().tolist(), [22, 28, 14, 12, 10, 10])
    book.close()
    return buffer.getvalue()


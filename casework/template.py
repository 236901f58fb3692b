"""The results spreadsheet a team fills in on site or after: one row per stop, drop-down lists."""

from __future__ import annotations

from core.untrusted import FORMULA_START
from layers import schema
from routing.model import Plan

TEMPLATE_HEADERS = ["检查组", "序号", "任务编号", "名称", "地址", "计划到达", "是否检查", "检查时间", "未检查原因",
                    "核查结论", *[term.zh for term in schema.CHECKLIST_ITEMS], "发现问题", "处理措施", "抄告部门",
                    "整改期限（天）"]


def results_template(plan: Plan, team_id: str) -> bytes:
    """An XLSX for recording one team's results: one row per stop, drop-down lists for the choices."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    team = plan.team(team_id)
    book = Workbook()
    sheet = book.active
    sheet.title = "检查结果"
    sheet.append([f"{plan.plan_id} {team.name} 检查结果登记表（{plan.date}）"])
    sheet.append(TEMPLATE_HEADERS)
    for stop in team.stops:
        sheet.append([team.team_id, stop.order, stop.visit_id, stop.name, stop.address,
                      stop.arrival] + [""] * (len(TEMPLATE_HEADERS) - 6))
    for row in sheet.iter_rows(min_row=1):
        for cell in row:  # imported text such as "=HYPERLINK(…)" is stored as text, never as a formula
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                cell.data_type = "s"
                cell.quotePrefix = True
    last = sheet.max_row
    column = {name: i + 1 for i, name in enumerate(TEMPLATE_HEADERS)}

    def choices(header: str, values: list[str]) -> None:
        letter = sheet.cell(row=2, column=column[header]).column_letter
        rule = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        rule.error = f"请选择：{'、'.join(values)}"
        sheet.add_data_validation(rule)
        rule.add(f"{letter}3:{letter}{max(last, 3)}")

    choices("是否检查", ["是", "否"])
    choices("核查结论", [t.zh for t in schema.FINDINGS])
    choices("处理措施", [t.zh for t in schema.ACTIONS])
    for term in schema.CHECKLIST_ITEMS:
        choices(term.zh, [t.zh for t in schema.CHECK_OUTCOMES])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for letter, width in zip("ABCDEF", (8, 6, 26, 28, 30, 9), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "G3"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()

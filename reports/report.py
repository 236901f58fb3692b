"""A period's report files: the XLSX workbook and the PDF, from one count of the workspace."""

from __future__ import annotations

from reports.coverage import cell_coverage
from reports.figures import Period, double_ten, period_figures
from reports.pdf import report_pdf
from reports.workbook import report_xlsx
from store import Store


def report_files(ws: Store, period: Period, stem: str) -> dict[str, bytes]:
    """``{stem}.xlsx`` and ``{stem}.pdf`` of ``period``."""
    figures = period_figures(ws, period)
    compliance = double_ten(ws, period, figures=figures)
    cells = cell_coverage(ws, "communities", f"{period.start:%Y-%m-%d}", f"{period.end:%Y-%m-%d}")
    meta = ws.meta()
    return {f"{stem}.xlsx": report_xlsx(figures, compliance),
            f"{stem}.pdf": report_pdf(figures, compliance, cells, county=meta.get("county_name", ""),
                                      attribution=meta.get("attribution", "© OpenStreetMap contributors"))}

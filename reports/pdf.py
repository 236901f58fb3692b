"""The leaders' report as a PDF in Chinese (WeasyPrint), ready to send upward: the headline figures,
daily inspections against the target and problems by item (SVG charts from matplotlib, text kept
as text in the CJK font named explicitly), the coverage map drawn from the grid with the OSM
attribution, and the tables per township, per team and of overdue institutions."""

from __future__ import annotations

import html
import io

import geopandas as gpd

from layers import schema
from reports.figures import DoubleTen, Figures
from reports.workbook import NOTICE_NAMES, summary_rows
from routing.sheet import FONT_FAMILY

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
             "DejaVu Sans"]
CSS = """
@page { size: A4; margin: 16mm 14mm; font-family: %(font)s;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
body { font-family: %(font)s; font-size: 9.5pt; color: #111; }
h1 { font-size: 17pt; margin: 0 0 1mm 0; } h2 { font-size: 12pt; margin: 5mm 0 2mm 0; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%%; margin-bottom: 2mm; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: left; font-size: 8.5pt; }
th { background: #eceff1; } .small { color: #555; font-size: 8pt; } svg { width: 100%%; height: auto; }
"""


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams.update({"font.family": "sans-serif", "font.sans-serif": CJK_FONTS, "svg.fonttype": "none",
                            "axes.unicode_minus": False})
    return pyplot


def daily_chart(compliance: DoubleTen) -> str:
    """Daily inspections (bars) against the double-ten target (line), as SVG."""
    plt = _pyplot()
    daily = compliance.daily
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    labels = [d[5:] for d in daily["date"]]
    ax.bar(labels, daily["inspections"], color="#1565c0", label="检查次数")
    ax.plot(labels, daily["target"], color="#c62828", linewidth=1.5, label="双十目标")
    ax.set_ylabel("次")
    ax.legend(loc="upper right", fontsize=8)
    ax.tick_params(axis="x", labelsize=7, rotation=60 if len(labels) > 10 else 0)
    svg = _svg(fig)
    plt.close(fig)
    return svg


def problems_chart(figures: Figures) -> str:
    """Problems found by checklist item, as SVG."""
    plt = _pyplot()
    names = [term.zh for term in schema.CHECKLIST_ITEMS]
    counts = [figures.problems_by_item[term.code] for term in schema.CHECKLIST_ITEMS]
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    ax.barh(names[::-1], counts[::-1], color="#ef6c00")
    ax.set_xlabel("问题数")
    ax.tick_params(axis="y", labelsize=8)
    svg = _svg(fig)
    plt.close(fig)
    return svg


def coverage_map(cells: gpd.GeoDataFrame, attribution: str) -> str:
    """The grid coloured by coverage (share of institutions inspected in the window), as SVG."""
    plt = _pyplot()
    from matplotlib.colors import LinearSegmentedColormap

    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ramp = LinearSegmentedColormap.from_list("coverage", ["#c62828", "#f9a825", "#2e7d32"])
    shown = cells.to_crs(cells.estimate_utm_crs()) if len(cells) else cells
    empty = shown[shown["share"].isna()]
    if len(empty):
        empty.plot(ax=ax, color="#bdbdbd", edgecolor="#555", linewidth=0.4)
    valued = shown[shown["share"].notna()]
    if len(valued):
        valued.plot(ax=ax, column="share", cmap=ramp, vmin=0, vmax=1, edgecolor="#555", linewidth=0.4, legend=True,
                    legend_kwds={"label": "近10天已查机构占比", "shrink": 0.6})
    total = float(shown.area.sum()) or 1.0
    for row in shown.itertuples():  # names of cells large enough to hold them (the dense centre stays legible)
        if row.geometry is not None and not row.geometry.is_empty and row.geometry.area > 0.02 * total:
            point = row.geometry.representative_point()
            ax.annotate(str(row.name)[:8], (point.x, point.y), fontsize=6, ha="center", color="#111")
    ax.set_axis_off()
    ax.text(0.99, 0.01, attribution, transform=ax.transAxes, fontsize=6, ha="right", va="bottom", color="#333")
    svg = _svg(fig)
    plt.close(fig)
    return svg


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(figures: Figures, compliance: DoubleTen, cells: gpd.GeoDataFrame, *, county: str,
                attribution: str) -> str:
    """The report as HTML (what :func:`report_pdf` prints)."""
    period = figures.period
    overdue = compliance.institutions[compliance.institutions["overdue_days"] > 0]
    parts = [
        f"<h1>{html.escape(county)}校外培训巡查工作报告</h1>",
        (f"<div class='small'>{html.escape(period.label)}（{period.start:%Y-%m-%d} 至 {period.end:%Y-%m-%d}）"
         "；数据来自巡查计划登记簿与检查结果。</div>"),
        "<h2>一、主要数据</h2>", _table(["指标", "数值"], [list(r) for r in summary_rows(figures, compliance)[1:]]),
        "<h2>二、每日检查与双十目标</h2>", daily_chart(compliance),
        "<h2>三、网格覆盖</h2>", coverage_map(cells, attribution),
        "<h2>四、问题分类与处理</h2>", problems_chart(figures),
        _table(["通知", "份数"], [[NOTICE_NAMES[k], v] for k, v in figures.notices_by_kind.items()]),
        "<h2>五、分乡镇（街道）</h2>",
        _table(["乡镇（街道）", "检查次数", "覆盖社区", "发现问题", "下达通知"],
               figures.by_township[["township", "inspections", "communities", "problems", "notices"]]
               .to_numpy().tolist()),
        "<h2>六、分检查组</h2>",
        _table(["检查组", "出动班次", "出动人次", "检查次数", "发现问题", "下达通知"],
               figures.by_team[["team", "shifts", "turnouts", "inspections", "problems", "notices"]]
               .to_numpy().tolist()),
        "<h2>七、双十原则逾期未检机构</h2>",
        _table(["机构名称", "乡镇（街道）", "最近检查", "逾期天数"],
               overdue[["name", "township", "last_visit", "overdue_days"]].to_numpy().tolist())
        if len(overdue) else "<p>无逾期未检机构。</p>",
        f"<p class='small'>地图数据 {html.escape(attribution)}。</p>",
    ]
    return f"<html><head><meta charset='utf-8'><style>{CSS % {'font': FONT_FAMILY}}</style></head><body>" \
        + "".join(parts) + "</body></html>"


def report_pdf(figures: Figures, compliance: DoubleTen, cells: gpd.GeoDataFrame, *, county: str,
               attribution: str = "© OpenStreetMap contributors") -> bytes:
    """The report as PDF bytes (see module doc)."""
    from weasyprint import HTML

    return bytes(HTML(string=report_html(figures, compliance, cells, county=county, attribution=attribution))
                 .write_pdf())


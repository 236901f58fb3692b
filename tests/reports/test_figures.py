"""The leaders' figures of a simulated fortnight, checked against counts made here from the stored
tables (not through the functions that make the report)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from casework.simulate import simulate
from patrol.cli import main
from reports.figures import Period, double_ten, period_figures
from reports.workbook import report_xlsx
from store import Store
from tests.conftest import SHIPPED
from tests.helpers import on_backend

PERIODS = {"week": ("2026-W45", "2026-11-02", "2026-11-08"), "week2": ("2026-W46", "2026-11-09", "2026-11-15"),
           "month": ("2026-11", "2026-11-01", "2026-11-30")}


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory: pytest.TempPathFactory) -> Store:
    target = tmp_path_factory.mktemp("fortnight") / "county.gpkg"
    shutil.copy2(SHIPPED, target)
    ws = on_backend(target)
    simulate(ws, "2026-11-02", 14, seed=11)
    return ws


def _in(series: pd.Series, start: str, end: str) -> pd.Series:
    day = series.fillna("").astype(str).str[:10]
    return (day >= start) & (day <= end)


def _period(kind: str) -> Period:
    text = PERIODS[kind][0]
    return Period.month(text) if kind == "month" else Period.week(text)


@pytest.mark.parametrize("kind", list(PERIODS))
def test_every_figure_matches_a_count_of_the_stored_tables(fortnight: Store, kind: str) -> None:
    _, start, end = PERIODS[kind]
    figures = period_figures(fortnight, _period(kind))
    results = fortnight.read("results").drop_duplicates(["plan_id", "visit_id"], keep="last")
    seen = results[_in(results["date"], start, end) & results["visited"].astype(bool)]
    assert figures.inspections == len(seen) > 0
    assert figures.communities_swept == seen["community_code"].nunique()
    institutions = seen[seen["kind"] == "institution"]
    assert figures.institutions_checked == institutions["visit_id"].nunique()
    kinds = fortnight.read("institutions").set_index("institution_id")["kind"]
    assert figures.care_centres_checked == institutions["visit_id"].str[2:].map(kinds).eq("care").groupby(
        institutions["visit_id"]).first().sum()
    assert figures.places_checked == seen.loc[seen["kind"] == "place", "visit_id"].nunique()
    plans = fortnight.read("plans")
    plans = plans[_in(plans["date"], start, end)]
    out = set(zip(seen["plan_id"], seen["team_id"], strict=True))
    turnouts = sum(len(t["members"]) for text in plans["plan_json"] for t in json.loads(text)["teams"]
                   if (json.loads(text)["plan_id"], t["team_id"]) in out)
    assert figures.turnouts == turnouts
    checks = [json.loads(c) for c in seen["checklist"]]
    for item, count in figures.problems_by_item.items():
        assert count == sum(c.get(item) == "problem" for c in checks), item
    for action, count in figures.notices_by_kind.items():
        assert count == (seen["action"] == action).sum(), action
    cases = fortnight.read("cases")
    assert figures.cases_opened == _in(cases["opened_at"], start, end).sum()
    assert figures.cases_closed == _in(cases["closed_at"], start, end).sum()
    clues = fortnight.read("clues")
    assert figures.clues_received == _in(clues["received_at"], start, end).sum()
    received = clues[_in(clues["received_at"], start, end)]
    assert figures.clues_by_channel == {c: int((received["channel"] == c).sum()) for c in figures.clues_by_channel}
    assert sum(figures.clues_by_channel.values()) == figures.clues_received  # every clue has a known source
    assert figures.grid_walks == 0 and figures.cells_walked == 0  # the simulation files no grid walks
    assert figures.clues_verified == (seen["kind"] == "clue").sum()
    assert figures.clues_answered == _in(clues["handled_at"], start, end).sum()
    assert figures.plans == len(plans) and figures.plans_withdrawn == 0
    assert figures.by_team["inspections"].sum() == figures.by_township["inspections"].sum() == len(seen)
    per_day = seen.groupby("date").size()
    assert dict(zip(figures.daily["date"], figures.daily["inspections"], strict=True)) == {
        d: int(per_day.get(d, 0)) for d in pd.date_range(start, end).strftime("%Y-%m-%d")}


def test_double_ten_lists_each_active_institution_with_its_last_visit(fortnight: Store) -> None:
    compliance = double_ten(fortnight, _period("week2"))
    results = fortnight.read("results")
    visited = results[results["visited"].astype(bool) & (results["kind"] == "institution")
                      & (results["date"] <= "2026-11-15")]
    last = visited.assign(target=visited["visit_id"].str[2:]).groupby("target")["date"].max()
    institutions = fortnight.read("institutions")
    active = institutions[institutions["status"] != "deregistered"]
    table = compliance.institutions.set_index("institution_id")
    assert set(table.index) == set(active["institution_id"])
    for institution_id, row in table.iterrows():
        expected = last.get(institution_id, "")
        assert row["last_visit"] == expected
        if expected:
            since = (pd.Timestamp("2026-11-15") - pd.Timestamp(expected)).days
            assert row["overdue_days"] == max(0, since - 9)
    assert compliance.overdue == (table["overdue_days"] > 0).sum()
    assert (compliance.daily["short"] == (10 - compliance.daily["inspections"]).clip(lower=0)).all()


def test_the_workbook_holds_the_figures_in_chinese_sheets_with_native_charts(fortnight: Store,
                                                                              tmp_path: Path, capsys) -> None:
    period = _period("month")
    figures, compliance = period_figures(fortnight, period), double_ten(fortnight, period)
    data = report_xlsx(figures, compliance)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["概览", "每日检查", "分乡镇", "分检查组", "问题分类", "处理措施", "双十逾期"]
    overview = {row[0].value: row[1].value for row in book["概览"].iter_rows(min_row=4)}
    assert overview["检查次数"] == figures.inspections and overview["出动检查人员（人次）"] == figures.turnouts
    assert overview["新立整改案件"] == figures.cases_opened
    charts = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 2
    assert main(["report", fortnight.location, "--month", "2026-11", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report_2026-11.xlsx").is_file() and "检查次数" in capsys.readouterr().out
    import pypdfium2

    pdf = pypdfium2.PdfDocument(tmp_path / "report_2026-11.pdf")
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "校外培训巡查工作报告" in text and f"检查次数 {figures.inspections}" in text
    assert f"出动检查人员（人次） {figures.turnouts}" in text and "OpenStreetMap" in text
    assert str(figures.by_township["township"].iloc[0]) in text
    assert main(["report", fortnight.location, "--week", "2026-W99", "--out", str(tmp_path)]) == 2
    assert main(["report", fortnight.location, "--out", str(tmp_path)]) == 2


def test_coverage_per_cell_and_the_drill_down_from_township_to_buildings(fortnight: Store) -> None:
    from reports.coverage import cell_coverage

    results = fortnight.read("results").drop_duplicates(["plan_id", "visit_id"], keep="last")
    results = results[results["visited"].astype(bool) & _in(results["date"], "2026-11-02", "2026-11-15")]
    communities = fortnight.read("communities")
    parent = dict(zip(communities["code"], communities["parent_code"], strict=True))
    towns = cell_coverage(fortnight, "townships", "2026-11-02", "2026-11-15")
    by_town = results["community_code"].map(parent).value_counts()
    for row in towns.itertuples():
        assert row.inspections == int(by_town.get(row.code, 0)), row.name
    busiest = towns.sort_values("inspections").iloc[-1]
    inside = cell_coverage(fortnight, "communities", "2026-11-02", "2026-11-15", within=busiest["code"])
    assert set(inside["code"]) == {c for c, p in parent.items() if p == busiest["code"]}
    assert inside["inspections"].sum() == busiest["inspections"]  # the township's visits, shared out
    community = inside.sort_values("inspections").iloc[-1]
    buildings = cell_coverage(fortnight, "buildings", "2026-11-02", "2026-11-15", within=community["code"])
    all_buildings = fortnight.read("buildings", columns=["code", "parent_code"])
    assert set(buildings["code"]) == set(all_buildings.loc[all_buildings["parent_code"] == community["code"], "code"])

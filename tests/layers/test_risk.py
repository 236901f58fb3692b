"""Risk scores: in [0, 1], reproducible, explained, and driven by the editable settings file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import InputError
from core.settings import DEFAULT_RISK_SETTINGS as DEFAULT_SETTINGS
from core.settings import load_risk_settings as load_settings
from layers.demo import demo_layers
from layers.risk import analyse
from store import Store
from tests.helpers import replace_layers


@pytest.fixture
def demo_ws(guixi_copy: Store) -> Store:
    replace_layers(guixi_copy, demo_layers(guixi_copy, seed=11, today="2026-11-20"), action="demo")
    return guixi_copy


def test_demo_layers_are_seeded_labelled_and_on_buildings(guixi_copy: Store) -> None:
    a = demo_layers(guixi_copy, seed=11, today="2026-11-20")
    b = demo_layers(guixi_copy, seed=11, today="2026-11-20")
    cols = ["institution_id", "name", "status", "kind", "building_code"]
    pd.testing.assert_frame_equal(a["institutions"][cols], b["institutions"][cols])
    assert (a["institutions"]["building_code"] != "").all() and (a["clues"]["building_code"] != "").all()
    assert set(a["institutions"]["source"]) == {"演示数据"} == set(a["clues"]["source"])
    assert a["clues"]["received_at"].max() <= "2026-11-21"


def test_scores_reproducible_bounded_and_explained(demo_ws: Store) -> None:
    first = analyse(demo_ws, today="2026-11-20")
    second = analyse(demo_ws, today="2026-11-20")
    pd.testing.assert_frame_equal(
        first["risk_sites"].drop(columns="geometry"), second["risk_sites"].drop(columns="geometry")
    )
    sites = first["risk_sites"]
    assert sites["risk_score"].between(0, 1).all()
    assert (sites["risk_reasons"].str.len() > 0).all()
    assert set(sites["site_type"]) == {"institution", "place"}
    black = sites[(sites["status"] == "black_list") & (sites["kind"] == "subject")]
    white = sites[(sites["status"] == "white_list") & (sites["kind"] != "subject")]
    assert black["risk_reasons"].str.contains("黑名单学科类机构").all()
    assert black["risk_score"].mean() > white["risk_score"].mean()
    assert sites["risk_reasons"].str.contains(r"近30天附近举报\d+起").any()
    assert sites["risk_reasons"].str.contains(r"距.+\d+米").any()
    cells = first["risk_cells"]
    assert cells["risk_score"].between(0, 1).all() and cells["risk_reasons"].str.contains("最高风险场所").any()


def test_formula_is_the_documented_weighted_mean(demo_ws: Store, tmp_path: Path) -> None:
    text = DEFAULT_SETTINGS.read_text(encoding="utf-8")
    only_status = tmp_path / "risk.toml"
    for key in ("clues", "hot_cell", "near_school", "overdue", "place"):
        text = text.replace(f"\n{key} = ", f"\n{key} = 0 #", 1)
    only_status.write_text(text, encoding="utf-8")
    settings = load_settings(only_status)
    sites = analyse(demo_ws, today="2026-11-20", settings=settings)["risk_sites"]
    inst = sites[sites["site_type"] == "institution"]
    expected = [
        settings.status_factors[s] * settings.kind_factors[k]
        for s, k in zip(inst["status"], inst["kind"], strict=True)
    ]
    assert inst["risk_score"].round(4).tolist() == pytest.approx(expected, abs=1e-4)
    assert not sites["risk_reasons"].str.contains("举报").any()
    assert (sites[sites["site_type"] == "place"]["risk_score"] == 0).all()


def test_bad_settings_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "risk.toml"
    bad.write_text(DEFAULT_SETTINGS.read_text(encoding="utf-8").replace("status = 0.30", "status = -1"), "utf-8")
    with pytest.raises(InputError, match=r"\[site.weights\] status"):
        load_settings(bad)

"""The app's pages, driven as a user would with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import folium
import folium.plugins
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers.render import AssetError, grid_map, localize_assets
from tests.helpers import demo_password, follow_language, logged_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app() -> AppTest:
    """The app logged in as the default county's demo planner, on the grid page."""
    AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()  # first start: demo accounts
    return logged_in("demo_planner", demo_password("guixi_360681", "demo_planner"), page="views/grid.py")


def test_grid_page_opens_in_chinese_without_errors(app: AppTest) -> None:
    assert not app.exception
    assert app.title[0].value == "双减校外培训网格化巡查"
    assert app.header[0].value == "四级网格责任体系"
    table = app.dataframe[0].value
    assert len(table) == 1 + 4 + 14 + 165
    assert "负责人" in table.columns


def test_drilling_down_to_a_township_and_community_narrows_the_table(app: AppTest) -> None:
    app.selectbox(key="township").select("360681003").run()
    table = app.dataframe[0].value
    assert set(table["上级代码"].dropna()) >= {"360681003"}
    first_community = app.selectbox(key="community").options[1]
    app.selectbox(key="community").select_index(1).run()
    assert not app.exception
    narrowed = app.dataframe[0].value
    assert len(narrowed) < len(table)
    assert first_community.split("(")[-1].rstrip(")") in set(narrowed["代码"])


def test_english_is_available(app: AppTest) -> None:
    app.radio(key="lang").set_value("en").run()
    assert app.header[0].value == "Four-level responsibility grid"
    assert "Responsible" in app.dataframe[0].value.columns


def test_who_form_shows_the_chain_and_errors_outside(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    app.number_input(key="who_lon").set_value(117.23)
    app.number_input(key="who_lat").set_value(28.30)
    app.button[0].click().run()
    assert any("白果" in m.value or "社区" in m.value for m in app.markdown)
    app.number_input(key="who_lon").set_value(100.0)
    app.button[0].click().run()
    assert not app.exception
    assert "在贵溪市之外" in app.error[0].value and "outside" not in app.error[0].value
    follow_language(monkeypatch, app).radio(key="lang").set_value("en").run()
    app.button[0].click().run()
    assert not app.exception
    assert "outside 贵溪市" in app.error[0].value and "之外" not in app.error[0].value
    app.number_input(key="who_lon").set_value(117.23)
    app.button[0].click().run()
    chain = [m.value for m in app.markdown if m.value.startswith("•")]
    assert [line.split()[1] for line in chain] == ["Community", "Township", "County"]  # the roles are the county's


def test_rendered_map_references_no_outside_host(app: AppTest) -> None:
    import geopandas as gpd

    from store import open_store

    ws = open_store(ROOT / "data" / "guixi_360681.gpkg")
    levels = {name: ws.read(name) for name in ("county", "townships")}
    m = grid_map(levels, names={"county": "县区", "townships": "乡镇"}, labels={"name": "名称"})
    html = m.get_root().render()
    assert "cdn" not in html and "code.jquery.com" not in html
    assert "/app/static/vendor/leaflet/dist/leaflet.js" in html
    assert isinstance(levels["county"], gpd.GeoDataFrame)


def test_every_vendored_asset_file_exists() -> None:
    import json

    manifest = json.loads((ROOT / "static" / "vendor" / "manifest.json").read_text(encoding="utf-8"))
    for local in filter(None, manifest.values()):
        assert (ROOT / "static" / "vendor" / local).is_file(), local


def test_unvendored_plugin_asset_raises() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.MeasureControl().add_to(m)
    with pytest.raises(AssetError, match="not vendored"):
        localize_assets(m)


def test_the_app_works_on_copies_in_the_data_home_never_on_data(app: AppTest, private_data_home: Path) -> None:
    chosen = Path(app.session_state["workspace"])
    assert chosen.parent == private_data_home and chosen.name == "guixi_360681.gpkg"
    assert {p.name for p in private_data_home.glob("*.gpkg")} == {p.name for p in (ROOT / "data").glob("*.gpkg")}
    from store import open_store

    before = (ROOT / "data" / "guixi_360681.gpkg").read_bytes()
    with open_store(chosen).transaction(actor="tester", action="edit") as tx:  # a user's write lands in the copy
        tx.replace("townships", open_store(chosen).read("townships").assign(responsible_name="改"))
    assert (ROOT / "data" / "guixi_360681.gpkg").read_bytes() == before
    assert set(open_store(chosen).read("townships")["responsible_name"]) == {"改"}


def test_logging_in_to_another_county_puts_the_who_form_on_it(app: AppTest) -> None:
    guixi_lon = app.number_input(key="who_lon").value
    app.button(key="logout").click().run()
    assert "login" not in app.session_state and app.header[0].value == "登录"
    haidian = next(o for o in app.selectbox(key="login_workspace").options if "haidian" in o)
    app.selectbox(key="login_workspace").select(haidian)
    app.text_input(key="login_user").input("demo_planner")
    app.text_input(key="login_password").input(demo_password("haidian_110108", "demo_planner"))
    app.button[0].click().run()
    app.switch_page("views/grid.py").run()
    assert not app.exception
    assert 116.2 < app.number_input(key="who_lon").value < 116.4  # 海淀, not 贵溪's 117.2
    assert abs(guixi_lon - 117.2) < 0.3


def test_imported_text_is_shown_as_typed_not_as_markdown() -> None:
    from i18n import plain

    shown = plain("![x](http://evil.example/a.png) **粗** :red[红] 北街社区")
    assert "![" not in shown and "](" not in shown and "**" not in shown and ":red[" not in shown
    assert shown.replace("\\", "") == "![x](http://evil.example/a.png) **粗** :red[红] 北街社区"  # nothing lost


def test_a_new_users_default_county_has_a_simulated_month_on_the_leaders_page(private_data_home: Path) -> None:
    from store import open_store

    AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()  # first start: the data home
    home_copy = open_store(private_data_home / "guixi_360681.gpkg")
    first, last = home_copy.meta()["simulated_days"].split("..")
    assert (pd.Timestamp(last) - pd.Timestamp(first)).days >= 27  # a month of 演示数据
    assert len(home_copy.read("results")) > 0 and len(home_copy.read("plans")) >= 28
    shipped = open_store(ROOT / "data" / "guixi_360681.gpkg")
    assert not shipped.has_layer("results")  # the bare sample the tests build on is not changed
    assert len(home_copy.read("buildings")) == len(shipped.read("buildings"))  # the same county
    leader = logged_in("demo_leader", demo_password("guixi_360681", "demo_leader"))
    assert leader.header[0].value == "巡查工作看板"
    assert int({m.label: m.value for m in leader.metric}["检查次数"]) > 0  # figures on first start
    assert any("演示数据" in i.value and first in i.value for i in leader.info)

"""End to end: the running app in headless Chromium draws the grid with no outside request."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (bash scripts/install-system-packages.sh)",
)
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CANVAS = ".leaflet-overlay-pane canvas"


def _features(page) -> int:
    from tests.helpers import COUNT_MAP_FEATURES

    return int(page.locator("iframe[title*='streamlit_folium']").first.evaluate(COUNT_MAP_FEATURES))


def _register_todays_plan(path: Path) -> str:
    """Today's day plan in the private workspace (on the backend under test); return its location."""
    import pandas as pd

    from casework.simulate import simulate
    from core.clock import local_day
    from core.settings import load_patrol_settings
    from routing.plan import make_plan
    from routing.register import register_plan
    from tests.helpers import add_user, on_backend

    ws = on_backend(path)
    simulate(ws, (local_day() - pd.Timedelta(days=5)).strftime("%Y-%m-%d"), 3, seed=9, iterations=30)  # a past
    released = (local_day() - pd.Timedelta(days=1)).isoformat()  # released to the team leaders since yesterday
    plan, seed = make_plan(ws, local_day(), "day", seed="browser", settings=load_patrol_settings(), iterations=50,
                           release=dict.fromkeys(ws.read("teams")["team_id"], released))
    register_plan(ws, plan, seed=seed, actor="planner")
    add_user(ws, "planner1", "planner")
    add_user(ws, "leader1", "leader")
    add_user(ws, "lead_t1", "team_leader", team_id=plan.teams[0].team_id)
    add_user(ws, "wg1", "grid_member", cell_code="360681003002")
    return ws.location


@pytest.fixture(scope="module")
def browser_workspace(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the default county (making a plan records it), with today's plan registered."""
    private = tmp_path_factory.mktemp("browser")
    shutil.copy2(ROOT / "data" / "guixi_360681.gpkg", private / "browser_county.gpkg")
    settings = (ROOT / "settings" / "patrol.toml").read_text(encoding="utf-8").replace("seconds = 10", "seconds = 2")
    (private / "patrol.toml").write_text(settings, encoding="utf-8")
    (private / "location").write_text(_register_todays_plan(private / "browser_county.gpkg"), encoding="utf-8")
    return str(private / "browser_county.gpkg")


@pytest.fixture(scope="module")
def app_url(browser_workspace: str) -> Iterator[str]:
    from tests.helpers import running_app

    private = Path(browser_workspace).parent
    location = (private / "location").read_text(encoding="utf-8")
    with running_app({"PATROL_WORKSPACE": location, "PATROL_SETTINGS": str(private / "patrol.toml")}) as url:
        yield url


@pytest.fixture
def browser(app_url: str) -> Iterator[tuple[object, list[str]]]:
    """The app open on its login page in headless Debian Chromium.

    Requests to any host but this machine are aborted and recorded in the returned list.
    """
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})

        def guard(route: object) -> None:
            host = urlparse(route.request.url).hostname  # type: ignore[attr-defined]
            if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:  # type: ignore[attr-defined]
                route.continue_()  # type: ignore[attr-defined]
            else:
                outside.append(route.request.url)  # type: ignore[attr-defined]
                route.abort()  # type: ignore[attr-defined]

        page.context.route("**/*", guard)
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("button", name="登录").wait_for(timeout=60_000)
        try:
            yield page, outside
        finally:
            chromium.close()


def _choose(page: object, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox ``label`` once the page has settled (a click while it reruns is lost)."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)  # type: ignore[attr-defined]
    box = page.get_by_label(label)  # type: ignore[attr-defined]
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option).click()  # type: ignore[attr-defined]


def _log_in(page: object, username: str, password: str | None = None) -> None:
    from tests.helpers import TEST_PASSWORD

    page.get_by_label("用户名").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(password or TEST_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="登录").click()  # type: ignore[attr-defined]
    page.get_by_text("已登录").wait_for(timeout=60_000)  # type: ignore[attr-defined]


@pytest.fixture
def home(browser: tuple) -> tuple[object, list[str]]:
    """Logged in as a planner, on the grid page."""
    page, outside = browser
    _log_in(page, "planner1")
    page.get_by_role("link", name="网格").click()
    page.get_by_text("四级网格责任体系").wait_for(timeout=60_000)
    return page, outside


def test_grid_page_draws_polygons_without_outside_requests(home: tuple, tmp_path: Path) -> None:
    page, outside = home
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    frame.locator(CANVAS).first.wait_for(timeout=60_000)  # the grid is drawn on one canvas
    count = _features(page)
    attribution = frame.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=False)
    if os.environ.get("PATROL_SCREENSHOT"):
        page.screenshot(path=os.environ["PATROL_SCREENSHOT"], full_page=False)
    assert count > 100, f"only {count} polygons drawn"
    assert "OpenStreetMap" in attribution
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_layers_page_draws_every_layer_without_outside_requests(home: tuple) -> None:
    page, outside = home
    page.get_by_text("图层与风险").click()
    page.get_by_text("机构、举报线索、重点场所与风险").wait_for(timeout=60_000)
    page.get_by_text("重点场所", exact=True).first.click()  # switch the high-risk places on too
    page.wait_for_timeout(1500)
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    frame.locator(CANVAS).first.wait_for(timeout=60_000)  # institutions, clues and cells on one canvas
    page.wait_for_timeout(1500)
    count = _features(page)
    switcher = frame.locator(".leaflet-control-layers").inner_text()
    if os.environ.get("PATROL_SCREENSHOT_LAYERS"):
        page.screenshot(path=os.environ["PATROL_SCREENSHOT_LAYERS"], full_page=False)
    # 14 communities + 40 institutions + 150 clues + surface cells + high-risk places
    assert count > 14 + 40 + 150 + 100, f"only {count} shapes drawn"
    for name in ("校外培训机构", "举报线索", "重点场所", "举报热力面", "Gi*显著热点格"):
        assert name in switcher, f"layer {name} missing from the switcher: {switcher}"
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_plan_page_generates_routes_without_outside_requests(home: tuple) -> None:
    page, outside = home
    page.get_by_text("巡查计划").first.click()
    page.get_by_text("不打招呼的巡查计划").wait_for(timeout=60_000)
    page.get_by_role("button", name="生成计划").click()
    page.get_by_text("承诺值（现在即可公布）").wait_for(timeout=90_000)
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    routes = frame.locator("path.leaflet-interactive")
    routes.first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    numbered = frame.locator(".leaflet-marker-icon")
    switcher = frame.locator(".leaflet-control-layers").inner_text()
    if os.environ.get("PATROL_SCREENSHOT_PLAN"):
        page.screenshot(path=os.environ["PATROL_SCREENSHOT_PLAN"], full_page=False)
    assert numbered.count() >= 20, "numbered stops and bases are drawn"
    for name in ("第一检查组", "抽中概率"):
        assert name in switcher, f"{name} missing from the switcher: {switcher}"
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_team_leader_prints_the_sheet_and_records_a_result_on_a_phone(browser: tuple, browser_workspace: Path,
                                                                     tmp_path: Path) -> None:
    from casework.results import results_table
    from store import open_store

    page, outside = browser
    _log_in(page, "lead_t1")  # a team leader lands on their own route
    page.get_by_text("检查组今日路线").wait_for(timeout=60_000)
    assert page.get_by_label("检查组", exact=True).count() == 0  # no other team to choose
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.get_by_text("机密：出发前不得外传").wait_for(timeout=30_000)
    if os.environ.get("PATROL_SCREENSHOT_TEAM"):
        page.wait_for_timeout(5000)
        page.screenshot(path=os.environ["PATROL_SCREENSHOT_TEAM"], full_page=False)
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="打印路线单（PDF）").click()
    sheet = tmp_path / "sheet.pdf"
    download.value.save_as(sheet)
    assert sheet.read_bytes().startswith(b"%PDF") and sheet.stat().st_size > 50_000

    page.get_by_text("登记检查结果").scroll_into_view_if_needed()
    page.get_by_label("发现问题").fill("消防通道堵塞")
    page.get_by_text("整改通知", exact=True).click()
    page.get_by_role("button", name="保存检查结果").click()
    page.get_by_text("已保存 1 条结果").wait_for(timeout=60_000)
    assert outside == [], f"the page asked outside hosts for: {outside}"
    recorded = results_table(open_store((Path(browser_workspace).parent / "location").read_text(encoding="utf-8")))
    today = recorded[recorded["date"] == pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y-%m-%d")]
    assert len(today) == 1 and today["action"].iloc[0] == "rectify"


def test_upload_names_with_paths_write_nothing_outside_a_temporary_folder(home: tuple, tmp_path: Path) -> None:
    page, outside = home
    page.get_by_role("link", name="数据导入").click()
    page.get_by_text("导入机构台账或举报线索").first.wait_for(timeout=60_000)
    escape = ROOT.parent.parent / "escaped_upload" / "x.csv"  # where "../../escaped_upload/x.csv" would land
    absolute = tmp_path / "absolute" / "abs.csv"
    body = "机构名称,状态,类别,经度,纬度,坐标系\n路径测试机构,白名单,学科类,117.2200,28.2950,WGS84\n".encode()
    for name, shown in (("../../escaped_upload/x.csv", "x.csv"), (str(absolute), "abs.csv")):
        page.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": "text/csv",
                                                                 "buffer": body}])
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="导入", exact=True).click()
        page.get_by_text(f"{shown}（UTF-8）").first.wait_for(timeout=60_000)  # the summary names the safe label
        assert not escape.exists() and not escape.parent.exists(), "an upload was written outside the temp folder"
        assert not absolute.exists() and not absolute.parent.exists()
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_a_team_leader_is_offered_only_their_pages_and_a_fresh_tab_must_log_in(browser: tuple, app_url: str) -> None:
    page, outside = browser
    _log_in(page, "lead_t1")
    links = {link.inner_text().strip().split("\n")[-1] for link in page.locator("[data-testid='stSidebarNav'] a").all()}
    assert {"今日路线（组长）", "网格"} <= links
    assert not links & {"巡查计划", "图层与风险", "数据导入", "登记簿与审计", "账号管理"}, links
    page.goto(app_url + "/planning", wait_until="domcontentloaded")  # a typed URL is a new session: log in again
    page.get_by_role("button", name="登录").wait_for(timeout=60_000)
    assert page.get_by_text("不打招呼的巡查计划").count() == 0
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_the_leaders_page_colours_the_grid_draws_the_heat_and_gives_both_reports(browser: tuple, tmp_path: Path,
                                                                                  browser_workspace: str) -> None:
    import pypdfium2
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, outside = browser
    _log_in(page, "leader1")  # a leader lands on the leaders' page
    page.get_by_text("巡查工作看板").wait_for(timeout=60_000)
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    cells = frame.locator("path.leaflet-interactive")
    cells.first.wait_for(timeout=60_000)
    fills = {cells.nth(i).get_attribute("fill") for i in range(cells.count())}
    assert len(fills - {None, "none"}) >= 2, f"cells are not coloured by coverage: {fills}"
    frame.locator("canvas.leaflet-heatmap-layer").wait_for(timeout=30_000)
    assert int(page.locator("[data-testid='stMetricValue']").first.inner_text()) > 0
    shapes = cells.count()
    page.get_by_label("层级").click()  # a filter change redraws the map: townships instead of communities
    page.get_by_role("option", name="乡镇(街道)").click()
    page.wait_for_function("n => { const f = document.querySelector(\"iframe[title*='streamlit_folium']\");"
                           " return f && f.contentDocument.querySelectorAll('path.leaflet-interactive').length < n; }",
                           arg=shapes, timeout=30_000)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)  # the rerun is done
    saved = {}
    for label in ("报表（XLSX）", "报告（PDF）"):
        with page.expect_download(timeout=90_000) as download:
            page.get_by_role("button", name=label).first.click()
        saved[label] = tmp_path / download.value.suggested_filename
        download.value.save_as(saved[label])
    assert saved["报表（XLSX）"].read_bytes().startswith(b"PK")
    pdf = pypdfium2.PdfDocument(saved["报告（PDF）"])
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "校外培训巡查工作报告" in text and "检查次数" in text
    first_metric = "document.querySelector(\"[data-testid='stMetricValue']\").innerText"
    before = page.locator("[data-testid='stMetricValue']").first.inner_text()
    from core.clock import local_day
    from store import open_store

    results = open_store((Path(browser_workspace).parent / "location").read_text(encoding="utf-8")).read("results")
    results = results.drop_duplicates(["plan_id", "visit_id"], keep="last")  # a corrected result counts once
    today = results[(results["date"].astype(str).str[:10] == str(local_day().date())) & results["visited"].astype(bool)]
    assert str(len(today)) != before  # the past days hold more inspections than today
    _choose(page, "统计期间", "今天")  # the date range: only today's inspections (a team leader may have recorded some)
    page.wait_for_function(f"v => {first_metric} === v", arg=str(len(today)), timeout=30_000)
    _choose(page, "统计期间", "近30天")
    page.wait_for_function(f"v => {first_metric} === v", arg=before, timeout=30_000)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first  # drill down: a township's communities
    up = page.get_by_role("button", name="返回上一级")
    for attempt in range(3):  # the map may still be redrawing after the range change: click again
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        frame.locator("path.leaflet-interactive").nth(attempt).click()
        try:
            up.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    up.wait_for(timeout=1000)
    assert "社区(村)" in page.locator("p", has_text="县区 ›").first.inner_text()
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_a_planner_hands_a_community_to_another_team_on_the_map_and_saves(home: tuple,
                                                                          browser_workspace: str) -> None:
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from store import open_store

    page, outside = home
    page.get_by_role("link", name="包片区域").click()
    page.get_by_text("包片区域：社区分给各检查组").wait_for(timeout=60_000)
    page.get_by_role("button", name="自动划分包片区域").click()
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    moved = page.get_by_text("（尚未保存）")
    names = ["第二检查组", "第三检查组", "第一检查组", "第四检查组"]
    for attempt in range(8):  # a click on a community the chosen team has already moves nothing: try another
        page.get_by_label("点击社区，移交给").click()
        page.get_by_role("option", name=names[attempt % 4]).click()
        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
        frame.locator("path.leaflet-interactive").nth(attempt).click()
        try:
            moved.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    found = re.search(r"已把 (.+) 划给 (.+)（尚未保存）", moved.inner_text())
    assert found, moved.inner_text()
    community, team_name = found.groups()
    page.get_by_role("button", name="保存为新版本").click()
    page.get_by_text("已保存为第").wait_for(timeout=60_000)
    location = (Path(browser_workspace).parent / "location").read_text(encoding="utf-8")
    ws = open_store(location)
    code = ws.read("communities", where={"name": community})["code"].iloc[0]
    team = ws.read("teams", where={"name": team_name})["team_id"].iloc[0]
    latest = ws.read("area_versions")["version"].astype(int).max()
    rows = ws.read("patrol_areas", where={"version": int(latest)})
    assert rows.set_index("community_code").at[code, "team_id"] == team  # the move is in the store…
    audit = ws.audit_log()
    saves = audit[audit["action"] == "save-areas"]
    assert (saves["actor"] == "planner1").any()  # …and in the audit log, with who
    assert outside == [], f"the page asked outside hosts for: {outside}"


def test_a_grid_member_reports_from_a_phone_with_its_location_and_a_photo(browser: tuple, app_url: str,
                                                                          browser_workspace: str) -> None:
    from store import open_store
    from tests.casework.test_field import photo_with_gps

    page, outside = browser
    page.context.grant_permissions(["geolocation"], origin=app_url)
    page.context.set_geolocation({"latitude": 28.29515, "longitude": 117.22692})
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    _log_in(page, "wg1")  # a grid member lands on the field page
    page.get_by_text("现场上报（网格员、志愿者）").wait_for(timeout=60_000)
    _choose(page, "类别", "在职教师有偿补课")
    page.get_by_label("看到的情况（简要）").fill("在职教师在家中有偿补课，每晚7点")
    page.get_by_test_id("stCheckbox").get_by_text("使用手机定位").click()
    page.get_by_text("手机定位）").wait_for(timeout=30_000)  # the place came from the phone
    page.locator("input[type=file]").set_input_files(files=[{"name": "现场.jpg", "mimeType": "image/jpeg",
                                                             "buffer": photo_with_gps()}])
    page.get_by_text("现场.jpg").wait_for(timeout=30_000)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)  # a click mid-rerun is lost
    page.get_by_role("button", name="提交上报").click()
    page.get_by_text("已上报，线索编号").wait_for(timeout=60_000)
    ws = open_store((Path(browser_workspace).parent / "location").read_text(encoding="utf-8"))
    clues = ws.read("clues")
    mine = clues[clues["reporter"] == "wg1"]
    assert len(mine) == 1 and abs(float(mine.geometry.iloc[0].x) - 117.22692) < 1e-5  # placed by the phone
    assert mine["channel"].iloc[0] == "grid_member" and mine["status"].iloc[0] == "received"
    assert len(ws.read("clue_photos", where={"clue_id": mine["clue_id"].iloc[0]})) == 1
    links = [a.inner_text() for a in page.locator("[data-testid='stSidebarNav'] a").all()]
    assert not any("路线" in text or "计划" in text for text in links), links  # no plan, no route
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(app_url + "/team", wait_until="domcontentloaded")  # typing a route's address opens no route
    page.get_by_role("button", name="登录").wait_for(timeout=60_000)
    page.get_by_text("Page not found").wait_for(timeout=30_000)  # Streamlit's own notice: no such page here
    page.keyboard.press("Escape")
    _log_in(page, "wg1")
    page.get_by_text("现场上报（网格员、志愿者）").wait_for(timeout=60_000)
    assert page.get_by_text("检查组今日路线").count() == 0
    assert outside == [], f"the page asked outside hosts for: {outside}"

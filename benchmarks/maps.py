"""Maps at county scale: first paint and a filter change of the grid and layers pages in headless
Chromium, on a county of 5,000 institutions and 20,000 buildings against the default county
(165 buildings, 40 institutions), measured in the same run.

    python benchmarks/maps.py [--institutions 5000] [--buildings 20000]

The large county is the default one with SYNTHETIC buildings (``grid.synthetic.add_buildings``:
squares inside its real communities) and demonstration institutions and clues
(``patrol demo-layers``), 演示数据, made once and kept in /tmp/patrol-bench-maps. Timed, each the
median of three tries after a warm-up: from clicking the page in the sidebar until its map has
drawn its features (first paint); on the layers page, from choosing a township in the filter until
the rerun is done and the map is drawn again (filter change). It also prints how much HTML the
map sends to the browser. The issue's targets: paint ≤ 2 s, filter change ≤ 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    COUNT_MAP_FEATURES,
    add_user,
    browser_log_in,
    cached_county,
    grow_synthetic,
    running_app,
)

CACHE = Path(tempfile.gettempdir()) / "patrol-bench-maps"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRAWN = ".leaflet-overlay-pane path, .leaflet-overlay-pane canvas, .leaflet-marker-pane > *"
# a wait until the number of features on the map changes (however it is redrawn)
CHANGED = f"""before => [...document.querySelectorAll("iframe[title*='streamlit_folium']")]
    .some(f => f.contentWindow && f.contentWindow.L && ({COUNT_MAP_FEATURES})(f) !== before)"""


def county(institutions: int, buildings: int) -> Path:
    """The default county, or one grown to ``buildings`` more buildings and ``institutions`` (made once)."""
    def grow(ws, path: Path) -> None:
        if buildings:
            grow_synthetic(ws, path, buildings=buildings, institutions=institutions, clues=institutions // 2, seed=7)
        add_user(ws, "planner1", "planner")

    return cached_county(CACHE, f"county_{institutions}i_{buildings}b.gpkg", grow)


def _settle(page) -> None:
    page.wait_for_timeout(50)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=300_000)


def measure(path: Path) -> dict[str, float]:
    """Median first paint of the grid and layers pages, and of a filter change, in seconds."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"grid paint": [], "layers paint": [], "layers filter": [], "layers MB": []}
    with running_app({"PATROL_WORKSPACE": str(path), "PATROL_HOME": str(CACHE / "home")}) as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for attempt in range(4):  # the first try warms the caches and is not counted
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            browser_log_in(page, url, "planner1")
            page.get_by_role("link", name="图层与风险").wait_for(timeout=300_000)
            _settle(page)
            frame = page.frame_locator("iframe[title*='streamlit_folium']").first
            for name, key in (("网格", "grid paint"), ("图层与风险", "layers paint")):
                start = time.perf_counter()
                page.get_by_role("link", name=name).click()
                page.wait_for_timeout(20)
                frame.locator(DRAWN).first.wait_for(timeout=300_000)
                times[key].append(time.perf_counter() - start)
                _settle(page)
            html = page.locator("iframe[title*='streamlit_folium']").first.evaluate(
                "f => f.contentDocument.documentElement.outerHTML.length")
            times["layers MB"].append(html / 1e6)
            iframe = page.locator("iframe[title*='streamlit_folium']").first
            before = iframe.evaluate(COUNT_MAP_FEATURES)
            box = page.get_by_label("选择乡镇(街道)")
            box.click()
            option = page.get_by_role("option").nth(1)
            start = time.perf_counter()
            option.click()  # a township: fewer institutions on the map, however it is redrawn
            page.wait_for_function(CHANGED, arg=before, timeout=300_000)
            times["layers filter"].append(time.perf_counter() - start)
            _settle(page)
            if not attempt:
                times = {k: [] for k in times}
            page.close()
        browser.close()
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--institutions", type=int, default=5000)
    parser.add_argument("--buildings", type=int, default=20000)
    args = parser.parse_args()
    small, large = county(0, 0), county(args.institutions, args.buildings)
    results = {"default county": measure(small),
               f"{args.institutions} inst., {args.buildings} bldg.": measure(large)}
    print("maps, median of 3 after a warm-up (targets: paint ≤ 2 s, filter change ≤ 1 s); SYNTHETIC buildings")
    for label, r in results.items():
        print(f"  {label:>26}: grid {r['grid paint']:.2f} s, layers {r['layers paint']:.2f} s "
              f"({r['layers MB']:.1f} MB of HTML), filter change {r['layers filter']:.2f} s")
    a, b = results.values()
    print("  ratio large / default: " + ", ".join(f"{k} {b[k] / a[k]:.1f}×" for k in a))


if __name__ == "__main__":
    main()

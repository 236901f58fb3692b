"""Maps never run text from a file or from OSM as HTML, and stay parseable JavaScript."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point, box

from layers.render import add_grid_level, add_points, base_map, escaped, finish_map

EVIL = '<img src=x onerror="alert(1)">'


def test_names_and_values_from_files_reach_the_map_as_text() -> None:
    points = gpd.GeoDataFrame({"name": [EVIL], "address": ["a\u2028b"]}, geometry=[Point(117.2, 28.3)],
                              crs="EPSG:4326")
    cells = gpd.GeoDataFrame({"code": ["1"], "name": [EVIL]}, geometry=[box(117.1, 28.2, 117.3, 28.4)],
                             crs="EPSG:4326")
    m = base_map((117.1, 28.2, 117.3, 28.4), canvas=True)
    add_grid_level(m, cells, "communities", name=EVIL, labels={"name": EVIL})
    add_points(m, points, name=EVIL, color="#f00", labels={"name": "名称", "address": EVIL})
    page = finish_map(m).get_root().render()
    assert "<img src=x" not in page  # layer names, aliases and values are all escaped
    assert "&lt;img src=x" in page or "\\u0026lt;img src=x" in page
    assert "\u2028" not in page and "\\u2028" in page  # older browsers end a script line at a raw U+2028
    frame = escaped(cells, ["name"])
    assert frame["name"].iloc[0] == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"

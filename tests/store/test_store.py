"""The store API on both backends: transactions, upserts, queries, audit rows, migration, concurrency."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from core.errors import CorruptStoreError, InputError, WorkspaceError
from store import GeoPackageStore, Store, open_store
from store.migrate import migrate
from tests.helpers import assert_same_snapshot, on_backend, postgres_url, snapshot

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data" / "guixi_360681.gpkg"


@pytest.fixture(params=["gpkg", "postgis"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    target = tmp_path / "guixi.gpkg"
    shutil.copy2(SHIPPED, target)
    return on_backend(target, request.param)


def _points(ids: list[str], names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ids, "name": names, "score": [0.5] * len(ids)},
                            geometry=[Point(117.2 + i / 1000, 28.3) for i in range(len(ids))], crs="EPSG:4326")


def test_upsert_replaces_rows_by_key_and_keeps_the_others(ws: Store) -> None:
    with ws.transaction(actor="tester", action="first") as tx:
        tx.upsert("sites", _points(["a", "b", "c"], ["A", "B", "C"]), key="site_id")
    with ws.transaction(actor="tester", action="second") as tx:
        tx.upsert("sites", _points(["b", "d"], ["B2", "D"]), key="site_id")
    sites = ws.read("sites").set_index("site_id")
    assert sites["name"].to_dict() == {"a": "A", "b": "B2", "c": "C", "d": "D"}
    assert sites.crs.to_epsg() == 4326


def test_each_transaction_appends_one_audit_row_naming_the_actor(ws: Store) -> None:
    before = len(ws.audit_log())
    with ws.transaction(actor="planner-li", action="edit-persons", detail="x") as tx:
        tx.replace("townships", ws.read("townships").assign(responsible_name="李"))
    log = ws.audit_log()
    assert len(log) == before + 1
    last = log.iloc[-1]
    assert (last["actor"], last["action"], last["layers"], last["detail"]) == (
        "planner-li", "edit-persons", "townships", "x")


def test_a_write_without_an_actor_is_refused(ws: Store) -> None:
    with pytest.raises(InputError, match="actor"), ws.transaction(actor=" ", action="x"):
        pass


def test_a_failed_transaction_leaves_everything_as_it_was(ws: Store) -> None:
    before = snapshot(ws)
    with pytest.raises(RuntimeError, match="disk full"), ws.transaction(actor="t", action="x") as tx:
        tx.replace("townships", ws.read("townships").assign(responsible_name="changed"))
        tx.append("sites", _points(["a"], ["A"]))
        raise RuntimeError("disk full")
    assert_same_snapshot(before, snapshot(ws))


def test_reads_by_ids_range_and_bounding_box(ws: Store) -> None:
    clues = ws.read("clues")
    some = clues["clue_id"].iloc[:7].tolist()
    assert sorted(ws.read("clues", where={"clue_id": some})["clue_id"]) == sorted(some)
    day = ws.read("clues", between={"received_at": ("2026-11-10", "2026-11-12T23:59")})
    expected = clues[(clues["received_at"] >= "2026-11-10") & (clues["received_at"] <= "2026-11-12T23:59")]
    assert sorted(day["clue_id"]) == sorted(expected["clue_id"]) and len(expected)
    box = (117.20, 28.28, 117.22, 28.30)
    inside = ws.read("buildings", bbox=box)
    expected_codes = ws.read("buildings").cx[box[0]:box[2], box[1]:box[3]]["code"]
    assert sorted(inside["code"]) == sorted(expected_codes) and len(inside)
    assert list(ws.read("clues", where={"clue_id": []})["clue_id"]) == []


def test_a_transaction_reads_its_own_writes(ws: Store) -> None:
    with ws.transaction(actor="t", action="x") as tx:
        tx.append("sites", _points(["a"], ["A"]))
        assert tx.read("sites")["site_id"].tolist() == ["a"]
        assert not ws.has_layer("sites")  # others see it only after the commit
    assert ws.has_layer("sites")


def test_new_columns_are_added_and_old_rows_read_as_missing(ws: Store) -> None:
    with ws.transaction(actor="t", action="x") as tx:
        tx.append("sites", _points(["a"], ["A"]))
        tx.append("sites", _points(["b"], ["B"]).assign(note="新"))
    sites = ws.read("sites").set_index("site_id")
    assert sites.loc["b", "note"] == "新" and pd.isna(sites.loc["a", "note"])


def test_reading_a_missing_layer_lists_the_layers_there(ws: Store) -> None:
    with pytest.raises(WorkspaceError, match=r"has no layer 'nope'.*townships"):
        ws.read("nope")


def test_migration_round_trips_every_layer_both_ways(tmp_path: Path) -> None:
    source = GeoPackageStore(shutil.copy2(SHIPPED, tmp_path / "a.gpkg"))
    database = open_store(postgres_url())
    migrate(source, database, actor="t")
    back = GeoPackageStore(tmp_path / "b.gpkg")
    migrate(open_store(database.location + "&county=360681"), back, actor="t")
    original, returned = snapshot(source), snapshot(back)
    audit = returned.pop("audit_log")
    assert len(audit) == len(original.pop("audit_log")) + 2  # one row per migration
    assert_same_snapshot(original, returned)
    assert source.schemas() == back.schemas()
    # the copy is a GeoPackage GDAL reads as it reads the original
    for name in ("buildings", "institutions", "meta"):
        pd.testing.assert_frame_equal(pyogrio.read_dataframe(back.path, layer=name),
                                      pyogrio.read_dataframe(source.path, layer=name))


def test_a_database_holds_many_counties_apart(tmp_path: Path) -> None:
    schema = "t" + os.urandom(6).hex()
    url = postgres_url(schema)
    migrate(GeoPackageStore(shutil.copy2(SHIPPED, tmp_path / "g.gpkg")), open_store(url), actor="t")
    migrate(GeoPackageStore(shutil.copy2(ROOT / "data" / "haidian_110108.gpkg", tmp_path / "h.gpkg")),
            open_store(url), actor="t")
    with pytest.raises(WorkspaceError, match=r"county=CODE.*110108, 360681"):
        open_store(url).meta()
    guixi, haidian = open_store(url + "&county=360681"), open_store(url + "&county=110108")
    assert guixi.meta()["county_name"] == "贵溪市" and haidian.meta()["county_code"] == "110108"
    assert len(guixi.read("buildings")) == len(GeoPackageStore(SHIPPED).read("buildings"))


def test_a_shipped_sample_is_never_written() -> None:
    sample = open_store(SHIPPED)
    with pytest.raises(WorkspaceError, match=r"sample shipped"), sample.transaction(actor="t", action="x") as tx:
        tx.append("sites", _points(["a"], ["A"]))


def test_a_damaged_file_is_reported_as_damage_not_as_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CorruptStoreError, match="damaged"):
        open_store(broken).read("townships")


_WRITER = """
import sys, pandas as pd
from store import open_store
location, worker, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ws = open_store(location)
for i in range(rows):
    with ws.transaction(actor=f"w{worker}", action="append") as tx:
        tx.append("events", pd.DataFrame({"worker": [worker], "i": [i]}))
        existing = tx.read("counters", where={"name": ["total"]}) if tx.has_layer("counters") else None
        total = 0 if existing is None or existing.empty else int(existing["value"].iloc[0])
        tx.upsert("counters", pd.DataFrame({"name": ["total"], "value": [total + 1]}), key="name")
"""


@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_eight_processes_writing_at_once_lose_nothing(backend: str, tmp_path: Path) -> None:
    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "w.gpkg")), backend)
    workers = [subprocess.Popen([sys.executable, "-c", _WRITER, ws.location, str(w), "6"], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for w in range(8)]
    errors = [w.communicate(timeout=180)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * 8, errors
    events = ws.read("events")
    assert len(events) == 48 and len(events.drop_duplicates()) == 48
    assert int(ws.read("counters")["value"].iloc[0]) == 48  # each read-modify-write saw the one before
    assert (ws.audit_log()["action"] == "append").sum() == 48


_MIXED_WORKER = """
import sys
from pathlib import Path
from store import open_store
location, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
ws = open_store(location)
if mode == "import":
    from layers.importer import import_file
    import_file(ws, "institutions", Path(arg), actor="importer")
elif mode == "record":
    from casework.results import StopResult, record_results, registered_plan
    plan_id, team_id = arg.split("|")
    plan = registered_plan(ws, plan_id)
    results = [StopResult(s.visit_id, False, not_visited_reason="门店关闭") for s in plan.team(team_id).stops]
    record_results(ws, plan, results, team_id=team_id, actor=f"leader-{team_id}")
else:
    from core.settings import load_patrol_settings
    from routing.plan import make_plan
    from routing.register import register_plan
    plan, seed = make_plan(ws, arg, "day", seed=f"mixed-{arg}", settings=load_patrol_settings(), iterations=20)
    register_plan(ws, plan, seed=seed, actor="planner")
"""


def _registry(path: Path, start: int, rows: int) -> Path:
    lines = ["机构名称,地址,经度,纬度,坐标系,状态,类别"]
    lines += [f"并发测试机构{i:04d},贵溪市测试路{i}号,{117.21 + i * 1e-5:.6f},28.29,WGS84,白名单,学科类"
              for i in range(start, start + rows)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_imports_results_and_plans_from_eight_processes_at_once_lose_nothing(backend: str, tmp_path: Path) -> None:
    from casework.results import results_table
    from core.settings import load_patrol_settings
    from routing.plan import make_plan
    from routing.register import register_plan
    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "m.gpkg")), backend)
    plan, seed = make_plan(ws, "2026-11-23", "day", seed="mixed", settings=load_patrol_settings(), iterations=20)
    register_plan(ws, plan, seed=seed, actor="planner")
    teams = [t.team_id for t in plan.teams if t.stops][:3]
    jobs = ([("import", str(_registry(tmp_path / f"r{k}.csv", 100 * k, 40))) for k in range(3)]
            + [("record", f"{plan.plan_id}|{team}") for team in teams]
            + [("plan", day) for day in ("2026-11-25", "2026-11-27")])
    workers = [subprocess.Popen([sys.executable, "-c", _MIXED_WORKER, ws.location, mode, arg], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for mode, arg in jobs]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * len(jobs), errors
    names = set(ws.read("institutions")["name"])
    assert {f"并发测试机构{i:04d}" for k in range(3) for i in range(100 * k, 100 * k + 40)} <= names
    recorded = results_table(ws)
    assert set(recorded["team_id"]) == set(teams)
    assert len(recorded) == sum(len(plan.team(t).stops) for t in teams)
    assert set(ws.read("plans")["date"]) == {"2026-11-23", "2026-11-25", "2026-11-27"}
    audit = ws.audit_log()
    assert (audit["action"] == "import-institutions").sum() == 3 and (audit["action"] == "record-results").sum() == 3


_SLOW_WRITER = """
import sys, pandas as pd
from store import open_store
ws = open_store(sys.argv[1])
with ws.transaction(actor="killed", action="big") as tx:
    tx.replace("townships", ws.read("townships").assign(responsible_name="half-way"))
    for i in range(10_000_000):
        tx.append("events", pd.DataFrame({"i": [i]}))
        if i == 50:
            print("writing", flush=True)
"""


@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_kill_9_in_the_middle_of_a_write_leaves_the_last_good_state(backend: str, tmp_path: Path) -> None:
    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "k.gpkg")), backend)
    before = snapshot(ws)
    files_before = sorted(p.name for p in tmp_path.iterdir())
    writer = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, ws.location], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    writer.stdout.close()
    time.sleep(0.2)
    assert_same_snapshot(before, snapshot(ws))
    leftovers = {p.name for p in tmp_path.iterdir()} - set(files_before)
    assert leftovers <= {"k.gpkg-wal", "k.gpkg-shm"}, leftovers  # SQLite's own journal, nothing else


def test_a_schema_is_a_workspace_of_its_own_and_never_falls_back_to_another(tmp_path: Path) -> None:
    base = os.environ["PATROL_TEST_POSTGRES_URL"]
    first, second = (f"t{os.urandom(5).hex()}" for _ in range(2))
    migrate(GeoPackageStore(shutil.copy2(SHIPPED, tmp_path / "a.gpkg")), open_store(f"{base}?schema={first}"),
            actor="t")
    empty = open_store(f"{base}?schema={second}&county=360681")
    assert not empty.exists()
    with pytest.raises(WorkspaceError):
        empty.read("institutions")
    small = GeoPackageStore(shutil.copy2(SHIPPED, tmp_path / "b.gpkg"))
    with small.transaction(actor="t", action="trim") as tx:
        tx.replace("institutions", small.read("institutions").head(5))
    migrate(small, open_store(f"{base}?schema={second}"), actor="t")
    assert len(open_store(f"{base}?schema={first}&county=360681").read("institutions")) == 40  # untouched
    assert len(open_store(f"{base}?schema={second}&county=360681").read("institutions")) == 5


def test_writers_of_two_counties_in_one_database_do_not_wait_for_each_other(tmp_path: Path) -> None:
    url = postgres_url()
    migrate(GeoPackageStore(shutil.copy2(SHIPPED, tmp_path / "g.gpkg")), open_store(url), actor="t")
    migrate(GeoPackageStore(shutil.copy2(ROOT / "data" / "haidian_110108.gpkg", tmp_path / "h.gpkg")),
            open_store(url), actor="t")
    guixi, haidian = open_store(url + "&county=360681"), open_store(url + "&county=110108")
    for ws in (guixi, haidian):  # the first upsert of a layer makes its key index (schema changes wait in turn)
        with ws.transaction(actor="a", action="warm") as tx:
            tx.upsert("meta", pd.DataFrame({"key": ["note"], "value": ["-"]}), key="key")
    with guixi.transaction(actor="a", action="slow") as tx:  # an open write of one county…
        tx.upsert("meta", pd.DataFrame({"key": ["note"], "value": ["a"]}), key="key")
        started = time.perf_counter()
        with haidian.transaction(actor="b", action="other") as other:  # …does not hold up another's
            other.upsert("meta", pd.DataFrame({"key": ["note"], "value": ["b"]}), key="key")
        assert time.perf_counter() - started < 2
    assert guixi.meta()["note"] == "a" and haidian.meta()["note"] == "b"


def test_values_keep_their_meaning_through_the_store(ws: Store) -> None:
    import numpy as np

    with ws.transaction(actor="t", action="x") as tx:
        tx.append("checks", pd.DataFrame({"name": ["a", "b", "c"], "big": [2**60 + 1, 9007199254740993, 7],
                                          "flag": [True, False, True]}))
        tx.append("checks", pd.DataFrame({"name": ["d"], "big": ["12"], "flag": ["False"]}))  # text from a file
    checks = ws.read("checks").set_index("name")
    assert checks.loc["a", "big"] == 2**60 + 1 and checks.loc["b", "big"] == 9007199254740993  # no float detour
    assert checks["flag"].tolist() == [True, False, True, False]
    assert len(ws.read("checks", where={"big": np.int64(7)})) == 1  # a numpy scalar is a value, not bytes
    with pytest.raises(InputError, match="NUL"), ws.transaction(actor="t", action="x") as tx:
        tx.append("checks", pd.DataFrame({"name": ["bad\x00name"], "big": [1], "flag": [True]}))

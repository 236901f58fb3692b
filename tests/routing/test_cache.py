"""The routing cache on disk: where it lives, CCH orderings and road networks, never trusted blindly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from routing import matrix as mx
from routing import network as rn
from routing.cache import REPOSITORY, cache_dir, cache_home, prune, read_blob, write_blob
from routing.network import network_from_graph, road_network, snap
from routing.synthetic import grid_city


def test_the_cache_lives_outside_the_repository(tmp_path, monkeypatch):
    home = Path(str(tmp_path / "patrol-home"))
    monkeypatch.setenv("PATROL_HOME", str(home))
    monkeypatch.delenv("PATROL_CACHE", raising=False)
    assert cache_home() == home.resolve() / "cache"
    monkeypatch.setenv("PATROL_CACHE", str(tmp_path / "elsewhere"))
    assert cache_home() == (tmp_path / "elsewhere").resolve()
    folder = cache_dir("cch")
    assert folder is not None and folder.is_dir() and folder.stat().st_mode & 0o077 == 0
    monkeypatch.setenv("PATROL_CACHE", "off")
    assert cache_home() is None and cache_dir("cch") is None
    for inside in (REPOSITORY / "data" / "cache", REPOSITORY):
        monkeypatch.setenv("PATROL_CACHE", str(inside))
        assert cache_home() is None and cache_dir("networks") is None
    monkeypatch.delenv("PATROL_CACHE")
    monkeypatch.delenv("PATROL_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_home() == (tmp_path / "xdg").resolve() / "shuangjian-patrol"


def test_a_cache_file_is_read_only_for_its_key_and_whole(tmp_path):
    path = tmp_path / "x.bin"
    assert write_blob(path, "k1", b"payload")
    assert read_blob(path, "k1") == b"payload"
    assert read_blob(path, "k2") is None  # made for another key: stale
    path.write_bytes(path.read_bytes()[:-1] + b"P")  # damaged
    assert read_blob(path, "k1") is None
    path.write_bytes(b"garbage")
    assert read_blob(path, "k1") is None
    assert read_blob(tmp_path / "missing", "k1") is None


def test_a_cache_file_is_read_only_if_it_is_ours_alone_and_no_link(tmp_path):
    import os

    path = tmp_path / "x.bin"
    assert write_blob(path, "k1", b"payload")
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    target = elsewhere / "y.bin"
    path.replace(target)
    path.symlink_to(target)  # a valid file for the key, but through a link: ignored
    assert read_blob(target, "k1") == b"payload" and read_blob(path, "k1") is None
    assert write_blob(path, "k1", b"again")  # replaces the link itself, never its target
    assert not path.is_symlink() and read_blob(path, "k1") == b"again" and read_blob(target, "k1") == b"payload"
    os.chmod(path, 0o620)  # others may write it: ignored
    assert read_blob(path, "k1") is None
    os.chmod(path, 0o602)
    assert read_blob(path, "k1") is None
    os.chmod(path, 0o644)  # others may read it: that is no risk
    assert read_blob(path, "k1") == b"again"
    os.chmod(elsewhere, 0o770)  # a folder others may write: neither read nor written
    assert read_blob(target, "k1") is None and not write_blob(elsewhere / "z.bin", "k1", b"x")
    linked = tmp_path / "linked"
    linked.symlink_to(elsewhere)
    os.chmod(elsewhere, 0o700)
    assert read_blob(linked / "y.bin", "k1") is None  # a folder reached through a link


def test_the_cache_is_off_under_a_folder_others_could_replace(tmp_path, monkeypatch):
    import os

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # others may rename our cache folder away and put theirs in its place
    monkeypatch.setenv("PATROL_CACHE", str(shared / "mine" / "cache"))
    assert cache_dir("networks") is None
    os.chmod(shared, 0o1777)  # sticky, like /tmp: others may not rename what is ours
    assert cache_dir("networks") is not None
    os.chmod(shared, 0o755)
    (shared / "mine").chmod(0o775)
    assert cache_dir("networks") is None
    (shared / "mine").chmod(0o755)
    folder = cache_dir("networks")
    assert folder is not None
    folder.chmod(0o755)  # made by an older version: made owner-only
    assert cache_dir("networks") == folder and folder.stat().st_mode & 0o777 == 0o700


def test_prune_keeps_the_newest_entries(tmp_path):
    import os

    for i in range(5):
        (tmp_path / f"f{i}").write_text("x")
        os.utime(tmp_path / f"f{i}", (1000 + i, 1000 + i))
    (tmp_path / "d9").mkdir()
    (tmp_path / ".being-written").write_text("x")
    prune(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".being-written", "d9", "f3", "f4"]


def _sites(net, n, seed):
    rng = np.random.default_rng(seed)
    box = np.array([[d["x"], d["y"]] for _, d in net.graph.nodes(data=True)])
    lo, hi = box.min(axis=0), box.max(axis=0)
    return snap(net, rng.uniform(lo[0], hi[0], n), rng.uniform(lo[1], hi[1], n), far_m=300)


@pytest.mark.skipif(not mx.HAVE_CCH, reason="pyroutingkit is not installed here")
def test_cch_topology_is_built_once_per_network_and_loaded_from_disk(settings, monkeypatch):
    net = network_from_graph(grid_city(900, seed=8), "car", settings)
    saved: list[str] = []
    real_save = mx._save_topology
    monkeypatch.setattr(mx, "_save_topology", lambda *a: (saved.append(a[2].topology_key), real_save(*a)))
    mx.clear_caches()
    first = mx.travel_times(net, _sites(net, 40, 1), walk_kmh=4.5, backend="cch")
    assert len(saved) == 1
    folder = cache_dir("cch") / saved[0]
    assert (folder / "manifest.json").is_file()
    # another site set on the same network: the same topology, in this process
    other = mx.travel_times(net, _sites(net, 30, 2), walk_kmh=4.5, backend="cch")
    assert other.backend.topology is first.backend.topology and len(saved) == 1
    # a fresh process (caches cleared): loaded from disk, not built, and the same table
    mx.clear_caches()
    again = mx.travel_times(net, _sites(net, 40, 1), walk_kmh=4.5, backend="cch")
    assert len(saved) == 1
    np.testing.assert_array_equal(again.seconds, first.seconds)
    # new speeds: the same ordering serves, customised with the new weights
    slower = dataclasses.replace(settings, speeds={**settings.speeds, "car": {k: v / 2 for k, v in
                                                                          settings.speeds["car"].items()}})
    slow_net = network_from_graph(grid_city(900, seed=8), "car", slower)
    assert slow_net.fingerprint != net.fingerprint
    mx.clear_caches()
    slow = mx.travel_times(slow_net, _sites(slow_net, 40, 1), walk_kmh=4.5, backend="cch")
    assert len(saved) == 1
    reference = mx.travel_times(slow_net, _sites(slow_net, 40, 1), walk_kmh=4.5, backend="scipy")
    np.testing.assert_allclose(slow.seconds, reference.seconds, atol=1e-6)
    off = ~np.eye(40, dtype=bool)
    assert (slow.seconds[off] > first.seconds[off]).all()
    # a damaged file: rebuilt; a manifest for other arcs: rebuilt
    order = folder / "order"
    order.write_bytes(order.read_bytes()[::-1])
    mx.clear_caches()
    np.testing.assert_array_equal(mx.travel_times(net, _sites(net, 40, 1), 4.5, "cch").seconds, first.seconds)
    assert len(saved) == 2
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "key": "another network"}))
    mx.clear_caches()
    mx.travel_times(net, _sites(net, 40, 1), 4.5, "cch")
    assert len(saved) == 3
    # a topology saved for other arcs, with a manifest that matches its files: still refused
    tail = folder / "tail"
    tail.write_bytes(np.roll(np.fromfile(tail, dtype="<u4"), 1).tobytes())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["tail"] = mx.file_sha256(tail)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    mx.clear_caches()
    np.testing.assert_array_equal(mx.travel_times(net, _sites(net, 40, 1), 4.5, "cch").seconds, first.seconds)
    assert len(saved) == 4
    # a file that others may write, or a folder that is a link: rebuilt
    (folder / "order").chmod(0o666)
    mx.clear_caches()
    mx.travel_times(net, _sites(net, 40, 1), 4.5, "cch")
    assert len(saved) == 5
    moved = folder.parent / "moved"
    folder.rename(moved)
    folder.symlink_to(moved)
    mx.clear_caches()
    np.testing.assert_array_equal(mx.travel_times(net, _sites(net, 40, 1), 4.5, "cch").seconds, first.seconds)
    assert len(saved) == 6 and not folder.is_symlink()


def test_road_network_is_kept_on_disk_per_workspace_mode_and_speeds(guixi_ws, settings, monkeypatch):
    rn._NETWORKS.clear()
    built = road_network(guixi_ws, "car", settings)
    files = sorted((cache_dir("networks") or Path("/nonexistent")).glob("*.pickle"))
    assert len(files) == 1
    real = rn.workspace_graph

    def refuse(ws):
        raise AssertionError("the network should come from the cache")

    monkeypatch.setattr(rn, "workspace_graph", refuse)
    rn._NETWORKS.clear()
    loaded = road_network(guixi_ws, "car", settings)
    assert loaded is not built and loaded.fingerprint == built.fingerprint and loaded.report == built.report
    assert loaded.edges.index.equals(built.edges.index)
    points = np.array([[d["x"] + 7, d["y"] - 5] for _, d in list(built.graph.nodes(data=True))[:20]]).T
    assert snap(loaded, *points, far_m=300).frame.equals(snap(built, *points, far_m=300).frame)
    # other speeds or another mode: another file, built from the layers
    calls: list[int] = []
    monkeypatch.setattr(rn, "workspace_graph", lambda ws: (calls.append(1), real(ws))[1])
    slower = dataclasses.replace(settings, speeds={**settings.speeds, "car": {**settings.speeds["car"], "default": 5}})
    road_network(guixi_ws, "car", slower)
    road_network(guixi_ws, "walk", settings)
    assert len(calls) == 2 and len(list(files[0].parent.glob("*.pickle"))) == 3
    # a damaged file is ignored and rebuilt
    files[0].write_bytes(files[0].read_bytes()[:-100])
    rn._NETWORKS.clear()
    assert road_network(guixi_ws, "car", settings).fingerprint == built.fingerprint
    assert len(calls) == 3
    rn._NETWORKS.clear()
    road_network(guixi_ws, "car", settings)
    assert len(calls) == 3  # the rebuilt file serves again
    # a file made for another key (a stale copy under this name) is ignored
    stale = files[0].parent / "stale.pickle"
    write_blob(stale, "another key", files[0].read_bytes())
    stale.replace(files[0])
    rn._NETWORKS.clear()
    road_network(guixi_ws, "car", settings)
    assert len(calls) == 4
    # a file that is a link (to a whole file for this key), or that others may write: ignored, rebuilt
    copy = files[0].parent.parent / "copy.pickle"
    copy.write_bytes(files[0].read_bytes())
    files[0].unlink()
    files[0].symlink_to(copy)
    rn._NETWORKS.clear()
    assert road_network(guixi_ws, "car", settings).fingerprint == built.fingerprint
    assert len(calls) == 5 and not files[0].is_symlink()  # rebuilt, and written over the link
    rn._NETWORKS.clear()
    road_network(guixi_ws, "car", settings)
    assert len(calls) == 5
    files[0].chmod(0o664)
    rn._NETWORKS.clear()
    road_network(guixi_ws, "car", settings)
    assert len(calls) == 6 and files[0].stat().st_mode & 0o777 == 0o600
    # the roads change: a new version, a new file
    edges = guixi_ws.read("road_edges")
    with guixi_ws.transaction(actor="test", action="roads") as tx:
        tx.replace("road_edges", edges)
    rn._NETWORKS.clear()
    road_network(guixi_ws, "car", settings)
    assert len(calls) == 7

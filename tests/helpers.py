"""Helpers for tests: write layers whole, snapshot a workspace, put a workspace on the backend under test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from store import Store, open_store
from store.migrate import migrate

BACKEND = os.environ.get("PATROL_TEST_BACKEND", "gpkg")


def replace_layers(ws: Store, layers: Mapping[str, pd.DataFrame], *, action: str = "test", actor: str = "tester",
                   detail: str = "") -> None:
    """Replace ``layers`` whole in one transaction (tests set up states this way)."""
    with ws.transaction(actor=actor, action=action, detail=detail) as tx:
        for name, frame in layers.items():
            tx.replace(name, frame)


def snapshot(ws: Store) -> dict[str, pd.DataFrame]:
    """Every layer of ``ws``, as frames (to compare a workspace before and after)."""
    return {name: pd.DataFrame(ws.read(name)).astype(str) for name in ws.layer_names()}


def assert_same_snapshot(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    """Fail unless both snapshots hold the same layers with the same rows."""
    assert sorted(before) == sorted(after)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)


def postgres_url(schema: str | None = None, county: str | None = None) -> str:
    """A URL in the test server, in a schema of its own (fresh unless named)."""
    base = os.environ["PATROL_TEST_POSTGRES_URL"]
    query = [f"schema={schema or 't' + uuid.uuid4().hex[:12]}"] + ([f"county={county}"] if county else [])
    return f"{base}?{'&'.join(query)}"


def on_backend(gpkg: Path, backend: str = BACKEND) -> Store:
    """The workspace ``gpkg`` (a private copy already) on the backend under test."""
    ws = open_store(gpkg)
    if backend == "gpkg":
        return ws
    target = open_store(postgres_url())
    migrate(ws, target, actor="test-setup")
    county = ws.meta()["county_code"]
    return open_store(f"{target.location}&county={county}")


TEST_PASSWORD = "test-password-1"
APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def add_user(ws: Store, username: str, role: str, **binding: str) -> None:
    """An account with :data:`TEST_PASSWORD` (and the workspace's first administrator if it has none)."""
    from access.accounts import add_account, has_accounts

    if not has_accounts(ws):
        add_account(ws, username="admin", password=TEST_PASSWORD, role="admin", actor="installer")
    if username != "admin":
        add_account(ws, username=username, password=TEST_PASSWORD, role=role, actor="installer", **binding)


def demo_password(workspace: str, username: str) -> str:
    """A demo account's password, as printed at first start into the data home's demo-accounts.txt."""
    from store.home import patrol_home

    for line in (patrol_home() / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
        stem, name, password = line.split("\t")
        if (stem, name) == (workspace, username):
            return password
    raise KeyError((workspace, username))


def logged_in(username: str, password: str = TEST_PASSWORD, *, page: str | None = None, timeout: float = 90,
              workspace: str | None = None):
    """The app, logged in through its login form as ``username``, on ``page`` (a ``views/`` script)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=timeout).run()
    if workspace is not None:
        app.selectbox(key="login_workspace").select(workspace)
    app.text_input(key="login_user").input(username)
    app.text_input(key="login_password").input(password)
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert "login" in app.session_state, [e.value for e in app.error]
    if page is not None:
        app.switch_page(page).run()
        assert not app.exception, app.exception
    return app


def follow_language(monkeypatch, app):
    """``app``, able to run on after its language is switched.

    AppTest formats a widget's options (with the page's ``t()``) in the test's own thread, where no
    session says the language, so after a switch to English it looks for Chinese labels and fails;
    there ``i18n.lang`` now reads the app's session instead.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    import i18n

    in_script = i18n.lang

    def lang() -> str:
        if get_script_run_ctx() is not None:
            return in_script()
        try:
            return str(app.session_state["lang"])
        except KeyError:
            return "zh"

    monkeypatch.setattr(i18n, "lang", lang)
    return app


def app_county(tmp_path: Path, monkeypatch) -> Store:
    """A private copy of the default county on the backend under test, opened by the app
    (``$PATROL_WORKSPACE``)."""
    import shutil

    target = tmp_path / "county.gpkg"
    shutil.copy2(Path(__file__).resolve().parents[1] / "data" / "guixi_360681.gpkg", target)
    ws = on_backend(target)
    monkeypatch.setenv("PATROL_WORKSPACE", ws.location)
    return ws


@contextlib.contextmanager
def running_app(env: Mapping[str, str]) -> Iterator[str]:
    """The app served by ``streamlit run`` on a free local port with ``env``; yields its URL once healthy."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(root / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root), **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


#: JavaScript for ``locator.evaluate`` on a streamlit-folium iframe: the vector features Leaflet holds
#: on its map, whether drawn as SVG paths or on a canvas.
COUNT_MAP_FEATURES = """f => { const w = f.contentWindow; let n = 0;
    for (const key of Object.keys(w)) {
        if (key.startsWith('map_') && w[key] instanceof w.L.Map) {
            w[key].eachLayer(layer => { if (layer instanceof w.L.Path) n += 1; });
        }
    }
    return n; }"""


def browser_log_in(page, url: str, username: str) -> None:
    """Open the app at ``url`` in a Playwright ``page`` and log in as ``username`` (:data:`TEST_PASSWORD`)."""
    page.goto(url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()


def cached_county(folder: Path, name: str, grow) -> Path:
    """``folder/name``: the default county grown by ``grow(store, path)`` once, then reused (benchmarks).

    It is made under a hidden name and renamed when done, so an interrupted build is never taken for one.
    """
    import shutil

    from store import open_store

    folder.mkdir(exist_ok=True)
    path = folder / name
    if not path.exists():
        work = folder / f".{name}"
        shutil.copy2(Path(__file__).resolve().parents[1] / "data" / "guixi_360681.gpkg", work)
        grow(open_store(work), work)
        work.rename(path)
    return path


def grow_synthetic(ws: Store, path: Path, *, buildings: int, institutions: int, clues: int, seed: int) -> None:
    """Add SYNTHETIC buildings (``grid.synthetic``) and demonstration institutions and clues
    (``patrol demo-layers``) to the workspace ``ws`` at ``path``: a county at scale."""
    import subprocess

    from grid.synthetic import add_buildings

    add_buildings(ws, buildings, seed=seed)
    subprocess.run(["patrol", "demo-layers", str(path), "--seed", str(seed), "--institutions", str(institutions),
                    "--clues", str(clues)], check=True, stdout=subprocess.DEVNULL)

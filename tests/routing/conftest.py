"""Fixtures for routing: a private copy of the shipped 贵溪 workspace (with demo teams)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from routing.settings import load_patrol_settings
from store import Store
from tests.helpers import on_backend

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "guixi_360681.gpkg"


@pytest.fixture
def guixi_ws(tmp_path: Path) -> Store:
    target = tmp_path / "guixi.gpkg"
    shutil.copy2(SHIPPED, target)
    return on_backend(target)


@pytest.fixture(scope="session")
def settings() -> dict:
    return load_patrol_settings()

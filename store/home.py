"""Where a user's working data lives: ``$PATROL_HOME`` (default ``~/.local/share/shuangjian-patrol``).

The repository ships sample workspaces in ``data/``; they are never written. On first use each
one is copied into the data home, and the app and the command line work on those copies. Where
``data/lived-in/`` holds the same county after a simulated month of patrols (演示数据, made by
``scripts/build_default.sh``), that one is copied instead, so that a new user's leaders' page has
figures at once; the bare samples in ``data/`` stay what the tests build on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data"
LIVED_IN_DIR = SHIPPED_DIR / "lived-in"
DEFAULT_NAME = "guixi_360681"


def patrol_home() -> Path:
    """The data home: ``$PATROL_HOME``, else ``$XDG_DATA_HOME/shuangjian-patrol``, else ``~/.local/share/…``."""
    if os.environ.get("PATROL_HOME"):
        return Path(os.environ["PATROL_HOME"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "shuangjian-patrol"


def is_shipped(path: Path) -> bool:
    """Tell whether ``path`` is one of the repository's own sample files (which stay read-only)."""
    try:
        return path.resolve().parent == SHIPPED_DIR
    except OSError:
        return False


def shipped_workspaces() -> list[Path]:
    """The sample workspaces shipped in ``data/``, the default first."""
    return sorted(SHIPPED_DIR.glob("*.gpkg"), key=lambda p: (p.stem != DEFAULT_NAME, p.name))


def working_workspaces() -> list[Path]:
    """The user's workspaces in the data home, each sample copied there on first use; default first."""
    home = patrol_home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)  # workspaces and demo passwords: the owner's only
    if home.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # a shared folder someone else owns stays as it is
            home.chmod(0o700)
    for sample in shipped_workspaces():
        target = home / sample.name
        if not target.exists():
            handle, name = tempfile.mkstemp(prefix=f".{sample.stem}.", suffix=".gpkg", dir=home)
            os.close(handle)
            lived_in = LIVED_IN_DIR / sample.name
            shutil.copyfile(lived_in if lived_in.exists() else sample, name)
            os.replace(name, target)
    return sorted(home.glob("*.gpkg"), key=lambda p: (p.stem != DEFAULT_NAME, p.name))


def resolve_location(text: str) -> str:
    """A workspace argument as given, or a bare name (``guixi_360681``) found in the data home."""
    if "://" in text or Path(text).expanduser().exists() or os.sep in text or text.endswith(".gpkg"):
        return text
    for path in working_workspaces():
        if path.stem == text:
            return str(path)
    return text

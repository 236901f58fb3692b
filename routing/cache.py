"""The routing cache on disk: road networks and CCH orderings that a fresh process need not rebuild.

Where: ``$PATROL_CACHE``; else ``$PATROL_HOME/cache`` when a data home is set; else
``$XDG_CACHE_HOME/shuangjian-patrol`` (default ``~/.cache/shuangjian-patrol``). ``PATROL_CACHE=off``
turns the disk cache off (the in-process caches stay). A folder inside the repository (whose
``data/`` is never written) is refused, and so is one that another user owns or that others may
write: the cache is then off, never a reason to fail.

Each kind keeps its 16 newest entries (a cache hit counts as new). Nothing in it is trusted as
it stands. Each file is written whole to a temporary name and renamed into place, and starts with
a header that names the digest of the key it was made for and the SHA-256 of its payload; a file
whose key or digest does not match is ignored (and rebuilt). Only roads are cached, never sites,
plans or people.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
MAGIC = b"shuangjian-patrol-cache\n"
KEEP = 16  # entries kept per kind: the newest; older roads and orderings are deleted


def key_digest(*parts: object) -> str:
    """A short, stable digest of ``parts`` (JSON-encoded), used as a file name and checked inside it."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _usable(folder: Path) -> bool:
    """Whether ``folder`` (existing) is ours alone: owned by this user and not writable by others."""
    if not hasattr(os, "getuid"):  # pragma: no cover - not Linux/macOS
        return True
    try:
        info = folder.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def cache_home() -> Path | None:
    """The cache folder (see module doc), or ``None`` when the disk cache is off or refused."""
    chosen = os.environ.get("PATROL_CACHE", "").strip()
    if chosen.lower() in ("off", "0", "no", "false", "none"):
        return None
    if chosen:
        folder = Path(chosen).expanduser()
    elif os.environ.get("PATROL_HOME"):
        folder = Path(os.environ["PATROL_HOME"]).expanduser() / "cache"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = base / "shuangjian-patrol"
    folder = folder.absolute()
    with contextlib.suppress(OSError):
        folder = folder.resolve()
    if folder == REPOSITORY or REPOSITORY in folder.parents:
        return None
    return folder


def cache_dir(kind: str) -> Path | None:
    """The sub-folder ``kind`` of the cache, made (owner only) if need be; ``None`` if unusable."""
    home = cache_home()
    if home is None:
        return None
    folder = home / kind
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)  # the mode applies to the last part only
        folder.mkdir(exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder if _usable(home) and _usable(folder) else None


def read_blob(path: Path, key: str) -> bytes | None:
    """The payload of cache file ``path`` if it was written for ``key`` and is whole; else ``None``."""
    try:
        with path.open("rb") as handle:
            if handle.readline() != MAGIC:
                return None
            header = json.loads(handle.readline())
            payload = handle.read()
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("key") != key or header.get("length") != len(payload):
        return None
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return None
    return payload


def write_blob(path: Path, key: str, payload: bytes) -> bool:
    """Write ``payload`` for ``key`` to ``path`` atomically; ``False`` (and nothing left) on failure."""
    header = {"key": key, "length": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    name = None
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(MAGIC)
            out.write(json.dumps(header).encode() + b"\n")
            out.write(payload)
        os.replace(name, path)
        return True
    except OSError:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        return False


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prune(folder: Path, keep: int = KEEP) -> None:
    """Delete all but the ``keep`` newest entries of ``folder`` (files or folders; temporary ones left)."""
    try:
        entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
        entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[keep:]:
        with contextlib.suppress(OSError):
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()

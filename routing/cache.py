"""The routing cache on disk: road networks and CCH orderings that a fresh process need not rebuild.

Where: ``$PATROL_CACHE``; else ``$PATROL_HOME/cache`` when a data home is set; else
``$XDG_CACHE_HOME/shuangjian-patrol`` (default ``~/.cache/shuangjian-patrol``). ``PATROL_CACHE=off``
turns the disk cache off (the in-process caches stay). A folder inside the repository (whose
``data/`` is never written) is refused, and so is one that another user owns or that others may
write, or that lies in a folder someone else could replace (a folder above it, up to ``/``, that is
not this user's or root's, or that others may write and is not sticky like ``/tmp``): the cache is
then off, never a reason to fail.

A cache file is opened without following links (``O_NOFOLLOW``) and checked on the open descriptor
(``fstat``: a regular file of this user's that nobody else may write) before a byte is read from
that descriptor; anything else is ignored (and rebuilt): a road network is a pickle, which runs code
when read. Files are created exclusively (``O_EXCL | O_NOFOLLOW``, mode 0600) under a temporary name
in the 0700 folder of their kind, and renamed into place.

Each kind keeps its 16 newest entries (a cache hit counts as new). Nothing in it is trusted as
it stands. Each file is written whole, and starts with
a header that names the digest of the key it was made for and the SHA-256 of its payload; a file
whose key or digest does not match is ignored (and rebuilt). Only roads are cached, never sites,
plans or people.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import stat
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
MAGIC = b"shuangjian-patrol-cache\n"
KEEP = 16  # entries kept per kind: the newest; older roads and orderings are deleted


def key_digest(*parts: object) -> str:
    """A short, stable digest of ``parts`` (JSON-encoded), used as a file name and checked inside it."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _ours(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    if not hasattr(os, "getuid"):  # pragma: no cover - not Linux/macOS
        return True
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def private_folder(folder: Path) -> bool:
    """Whether ``folder`` (existing) is ours alone: a real folder (not a link) owned by this user and
    not writable by others."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _ours(info)


def _ancestors_safe(folder: Path) -> bool:
    """Whether no other user can replace ``folder`` or a folder above it: each ancestor is owned by this
    user or root and writable by nobody else, unless it is sticky (like ``/tmp``, where others may not
    rename what is ours)."""
    if not hasattr(os, "getuid"):  # pragma: no cover
        return True
    for parent in folder.parents:
        try:
            info = parent.lstat()
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, os.getuid()):
            return False
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            return False
    return True


def open_private(path: Path) -> int | None:
    """A descriptor to read cache file ``path`` if it is a regular file of ours that nobody else may
    write, opened without following a link (checked on the open file, not the path); else ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if not stat.S_ISREG(info.st_mode) or not _ours(info):
        os.close(fd)
        return None
    return fd


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
    """The sub-folder ``kind`` of the cache, made (owner only, 0700) if need be; ``None`` if unusable:
    not ours alone, or in a folder that someone else could replace (see :func:`_ancestors_safe`)."""
    home = cache_home()
    if home is None:
        return None
    folder = home / kind
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)  # the mode applies to the last part only
        folder.mkdir(exist_ok=True, mode=0o700)
    except OSError:
        return None
    if not (private_folder(home) and private_folder(folder) and _ancestors_safe(home)):
        return None
    if folder.lstat().st_mode & 0o077:
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)  # made by an older version: nobody else need read it either
    return folder


def read_blob(path: Path, key: str) -> bytes | None:
    """The payload of cache file ``path`` if it was written for ``key``, is whole and is ours alone (a
    link, or a file of another user or that others may write, is ignored); else ``None``."""
    if not private_folder(path.parent):
        return None
    fd = open_private(path)
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
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


def create_private(folder: Path, name: str) -> tuple[int, Path]:
    """A new file ``.<name>.<random>.tmp`` in ``folder``, created exclusively (never through a link)
    with mode 0600, and its path; raises ``OSError``."""
    path = folder / f".{name}.{secrets.token_hex(8)}.tmp"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600), path


def write_blob(path: Path, key: str, payload: bytes) -> bool:
    """Write ``payload`` for ``key`` to ``path`` atomically (a new 0600 file renamed into place); ``False``
    (and nothing left) on failure or when the folder is not ours alone."""
    if not private_folder(path.parent):
        return False
    header = {"key": key, "length": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    name = None
    try:
        handle, name = create_private(path.parent, path.name)
        with os.fdopen(handle, "wb") as out:
            out.write(MAGIC)
            out.write(json.dumps(header).encode() + b"\n")
            out.write(payload)
        os.replace(name, path)  # replaces a link at ``path`` itself, never its target
        return True
    except OSError:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        return False


def file_sha256(path: Path) -> str:
    """The SHA-256 of a cache file's bytes; raises ``OSError`` if it is not ours alone (see
    :func:`open_private`)."""
    fd = open_private(path)
    if fd is None:
        raise OSError(f"{path} is not a private cache file")
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_private(path: Path) -> bytes:
    """The bytes of a cache file that is ours alone, read from the descriptor; raises ``OSError``."""
    fd = open_private(path)
    if fd is None:
        raise OSError(f"{path} is not a private cache file")
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


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

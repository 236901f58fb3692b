"""Who is acting, for the audit log, when no login says it (the command line)."""

from __future__ import annotations

import getpass
import os


def cli_actor() -> str:
    """The person running a command: ``$PATROL_USER``, else the operating system's login name."""
    return os.environ.get("PATROL_USER") or getpass.getuser()

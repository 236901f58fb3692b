"""Every error and warning class of the product; each message says what is wrong and what to do.

Two families: :class:`InputError` (and its subclasses) is the user's fault — a file, an argument
or a request that cannot be used as given — and the message says how to fix it.
:class:`StoreError` is not: the database is unreachable, locked for too long or damaged, and the
message says so, so that a user is never told their input was wrong when it was the server.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input file or argument cannot be used as given."""


class SchemaError(InputError):
    """A table lacks required columns or holds values of the wrong kind."""


class CRSError(InputError):
    """A coordinate reference system is unknown, missing or unsuitable."""


class WorkspaceError(InputError):
    """A workspace is missing, lacks a layer, or was named wrongly (a bad path or URL)."""


class PermissionDeniedError(InputError):
    """The acting person may not do this (a role or ownership rule of the library refused it)."""


class LoginError(InputError):
    """A login was refused; ``reason`` says why (``wrong``, ``locked``, ``disabled``), ``until`` when a lock ends."""

    def __init__(self, message: str, *, reason: str, until: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.until = until


class StoreError(RuntimeError):
    """The store failed through no fault of the input: unreachable, locked too long or damaged."""


class CorruptStoreError(StoreError):
    """The workspace's database is damaged or not a workspace at all; restore it from a backup."""


def problems_error(where: object, problems: list[str], *, outcome: str = "nothing was saved",
                   limit: int = 40) -> InputError:
    """One error listing every problem of a file or request (the first ``limit`` of them)."""
    shown = "\n  ".join(problems[:limit])
    more = f"\n  … 另有 {len(problems) - limit} 处 / and {len(problems) - limit} more" if len(problems) > limit else ""
    zh = {"nothing was saved": "什么也没有保存", "nothing was used": "什么也没有采用"}.get(outcome, "未作更改")
    return InputError(f"{where}：{len(problems)} 处问题，{zh}，请改正后重试。 / "
                      f"{where}: {len(problems)} problem(s); {outcome}:\n  {shown}{more}")


class DataWarning(UserWarning):
    """Something in the input was odd but could be handled; the message says how."""

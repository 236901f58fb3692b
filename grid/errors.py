"""Error and warning classes for bad input; each message says what is wrong and what to do."""

from __future__ import annotations


class InputError(ValueError):
    """An input file or argument cannot be used as given."""


class SchemaError(InputError):
    """A table lacks required columns or holds values of the wrong kind."""


class CRSError(InputError):
    """A coordinate reference system is unknown, missing or unsuitable."""


class WorkspaceError(InputError):
    """A workspace file is missing, unreadable or lacks a layer."""


def problems_error(where: object, problems: list[str], *, outcome: str = "nothing was saved",
                   limit: int = 40) -> InputError:
    """One error listing every problem of a file or request (the first ``limit`` of them)."""
    shown = "\n  ".join(problems[:limit])
    more = f"\n  … and {len(problems) - limit} more" if len(problems) > limit else ""
    return InputError(f"{where}: {len(problems)} problem(s); {outcome}:\n  {shown}{more}")


class DataWarning(UserWarning):
    """Something in the input was odd but could be handled; the message says how."""

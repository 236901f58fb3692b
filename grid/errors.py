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


class DataWarning(UserWarning):
    """Something in the input was odd but could be handled; the message says how."""

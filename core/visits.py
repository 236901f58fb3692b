"""What a patrol visits: a typed reference instead of ``"I:…"`` strings sliced by hand.

A visit is an institution (``I:<institution_id>``), a high-risk place (``P:<place_id>``), a clue
to verify (``C:<clue_id>``) or a rectification case to revisit (``R:<case_id>``). The text form
is what plans, results and the draw's recorded inputs store, so that old plans still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from core.errors import InputError


class VisitKind(StrEnum):
    """The kinds of visit, with the values plans and results store."""

    INSTITUTION = "institution"
    PLACE = "place"
    CLUE = "clue"
    REVISIT = "revisit"

    @property
    def prefix(self) -> str:
        """The one-letter prefix of the text form."""
        return _PREFIX[self]


_PREFIX = {VisitKind.INSTITUTION: "I", VisitKind.PLACE: "P", VisitKind.CLUE: "C", VisitKind.REVISIT: "R"}
_KIND = {prefix: kind for kind, prefix in _PREFIX.items()}


@dataclass(frozen=True, order=True)
class VisitRef:
    """A visit: its kind and the id of what is visited (institution, place, clue or case)."""

    kind: VisitKind
    target: str

    @classmethod
    def parse(cls, text: str) -> VisitRef:
        """The reference written as ``"I:…"``, ``"P:…"``, ``"C:…"`` or ``"R:…"``.

        Raises
        ------
        InputError
            If ``text`` is not such a reference.
        """
        prefix, sep, target = str(text).partition(":")
        if not sep or prefix not in _KIND or not target:
            msg = f"{text!r} is not a visit id (I:, P:, C: or R: followed by an id)."
            raise InputError(msg)
        return cls(_KIND[prefix], target)

    @classmethod
    def institution(cls, institution_id: str) -> VisitRef:
        """The visit of an institution."""
        return cls(VisitKind.INSTITUTION, str(institution_id))

    @classmethod
    def place(cls, place_id: str) -> VisitRef:
        """The visit of a high-risk place."""
        return cls(VisitKind.PLACE, str(place_id))

    @classmethod
    def clue(cls, clue_id: str) -> VisitRef:
        """The check of a clue on site."""
        return cls(VisitKind.CLUE, str(clue_id))

    @classmethod
    def revisit(cls, case_id: str) -> VisitRef:
        """The revisit (回头看) of a rectification case."""
        return cls(VisitKind.REVISIT, str(case_id))

    def __str__(self) -> str:
        return f"{self.kind.prefix}:{self.target}"


def target_of(text: str) -> str:
    """The id a visit id refers to (the institution, place, clue or case id)."""
    return VisitRef.parse(text).target


def visit_ids(kind: VisitKind, targets: pd.Series) -> pd.Series:
    """Visit ids for a column of target ids."""
    return kind.prefix + ":" + targets.astype(str)

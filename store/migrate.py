"""Copy a county's workspace between backends (GeoPackage ⇄ PostGIS), every layer, losslessly."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import WorkspaceError
from store.base import Store


@dataclass
class MigrationSummary:
    """What a migration copied: rows per layer."""

    source: str
    target: str
    county: str
    rows: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The summary as lines for the command line."""
        head = f"county {self.county}: {len(self.rows)} layers, {sum(self.rows.values())} rows copied"
        return [f"{self.source} → {self.target}", head,
                *(f"  {name}: {count}" for name, count in sorted(self.rows.items()))]


def migrate(source: Store, target: Store, *, actor: str, replace: bool = False) -> MigrationSummary:
    """Copy every layer of ``source`` into ``target`` in one transaction, schemas and audit log included.

    Raises
    ------
    WorkspaceError
        If ``source`` does not exist, or ``target`` already holds the county and ``replace`` is false.
    """
    source.validate_layout()
    county = source.meta()["county_code"]
    target = target.bind(county)
    if target.exists() and not replace:
        msg = f"{target.label} already holds a workspace; add --replace to overwrite it with {source.label}."
        raise WorkspaceError(msg)
    summary = MigrationSummary(source.label, target.label, county)
    schemas = source.schemas()
    with target.creating() as fresh, fresh.transaction(
            actor=actor, action="migrate", detail=f"from {source.label}") as tx:
        for name in tx.layer_names():
            if name not in schemas:
                tx.drop_layer(name)
        for name, info in schemas.items():
            summary.rows[name] = tx.replace(name, source.read(name), schema=info)
    return summary

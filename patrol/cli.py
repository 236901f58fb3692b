"""``patrol``: build, check and query county workspaces from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from grid.errors import InputError


def _build(args: argparse.Namespace) -> int:
    from grid.build import build_workspace

    steps = tqdm(total=8, desc="build", unit="step", file=sys.stderr, leave=False)
    nodes = tqdm(desc="OSM nodes read", unit=" nodes", file=sys.stderr, leave=False)

    def on_step(label: str) -> None:
        steps.set_description(label)
        steps.update(1)

    def on_nodes(count: int) -> None:
        nodes.update(count - nodes.n)

    try:
        summary = build_workspace(
            osm_path=Path(args.osm), streets_path=Path(args.streets), villages_path=Path(args.villages),
            boundary_path=Path(args.boundary) if args.boundary else None, boundary_crs=args.boundary_crs,
            county_name=args.county_name, out_path=Path(args.out), progress=on_step, on_nodes=on_nodes,
        )
    finally:
        nodes.close()
        steps.close()
    print("\n".join(summary.lines()))
    print(f"written: {args.out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from grid.check import check_workspace
    from grid.storage import Workspace

    problems = check_workspace(Workspace(args.workspace))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("grid is clean: every cell nested, no overlaps, no gaps, everyone has a responsible person")
    return 0


def _who(args: argparse.Namespace) -> int:
    from grid.storage import Workspace
    from grid.who import who_is_responsible

    for link in who_is_responsible(Workspace(args.workspace), args.lon, args.lat, crs=args.crs):
        print(link.line())
    return 0


def _import(args: argparse.Namespace) -> int:
    from grid.storage import Workspace
    from layers.importer import write_rejects
    from layers.risk import import_and_analyse

    result = import_and_analyse(Workspace(args.workspace), args.kind, args.file, crs=args.crs, today=args.date,
                                settings_file=args.settings)
    print("\n".join(result.lines()))
    rejected = write_rejects(result, args.file)
    if rejected is not None:
        print(f"rejected rows written to {rejected}; fix them there and import that file again.")
        return 1
    return 0


def _hotspots(args: argparse.Namespace) -> int:
    from grid.storage import Workspace
    from layers.risk import refresh

    layers = refresh(Workspace(args.workspace), today=args.date, settings_file=args.settings)
    cells, surface = layers["hotspot_cells"], layers["hotspot_surface"]
    print(f"as of {cells['as_of'].iloc[0]}: {int((cells['label'] == 'hot').sum())} of {len(cells)} community cells "
          f"and {int((surface['label'] == 'hot').sum())} of {len(surface)} lattice cells are significant hot spots "
          f"(Gi*, FDR-corrected)")
    ranked = cells.assign(is_hot=cells["label"] == "hot").sort_values(
        ["is_hot", "hot_lattice_cells", "weighted"], ascending=False).head(args.top)
    for row in ranked.itertuples():
        flag = "HOT" if row.is_hot else "   "
        print(f"{flag} {row.code} {row.name}: {row.clues} clues ({row.clues_recent} recent), "
              f"weighted {row.weighted:.2f}, Gi* z={row.gi_z:.2f}, p={row.p_value:.3f}, "
              f"{row.hot_lattice_cells} hot lattice cells")
    return 0


def _risk(args: argparse.Namespace) -> int:
    from grid.storage import Workspace
    from layers.risk import refresh

    layers = refresh(Workspace(args.workspace), today=args.date, settings_file=args.settings)
    for row in layers["risk_sites"].head(args.top).itertuples():
        print(f"{row.risk_score:.2f} {row.site_id} {row.name}: {row.risk_reasons}")
    print("cells:")
    for row in layers["risk_cells"].head(args.top).itertuples():
        print(f"{row.risk_score:.2f} {row.code} {row.name}: {row.risk_reasons}")
    return 0


def _demo_layers(args: argparse.Namespace) -> int:
    from grid.storage import Workspace
    from layers.demo import demo_layers
    from layers.risk import analyse

    ws = Workspace(args.workspace)
    layers = demo_layers(ws, seed=args.seed, institutions=args.institutions, clues=args.clues, today=args.date)
    layers.update(analyse(ws, **layers, today=args.date))
    ws.write(layers, action="demo-layers", detail=f"seed {args.seed}: {args.institutions} institutions, "
             f"{args.clues} clues (演示数据)")
    print(f"wrote {args.institutions} demonstration institutions and {args.clues} clues (演示数据) to {args.workspace}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="patrol", description="双减 grid management and patrol planning")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-workspace", help="build a county workspace from OSM and code lists")
    build.add_argument("--osm", required=True, help="OpenStreetMap file, .osm (XML) or .osm.pbf")
    build.add_argument("--streets", required=True, help="official township list, streets_<county>.csv")
    build.add_argument("--villages", required=True, help="official community list, villages_<county>.csv")
    build.add_argument("--boundary", help="county boundary (GeoJSON, GeoPackage, Shapefile…)")
    build.add_argument("--boundary-crs", help="what the boundary's coordinates are: wgs84, cgcs2000, gcj02, bd09, EPSG:n")
    build.add_argument("--county-name", help="county name, if no areas.csv lies beside the streets file")
    build.add_argument("--out", required=True, help="workspace file to write (.gpkg)")
    build.set_defaults(func=_build)
    check = sub.add_parser("check", help="validate a workspace's grid")
    check.add_argument("workspace")
    check.set_defaults(func=_check)
    who = sub.add_parser("who", help="who is responsible for a point")
    who.add_argument("workspace")
    who.add_argument("--lon", type=float, required=True)
    who.add_argument("--lat", type=float, required=True)
    who.add_argument("--crs", default="wgs84", help="wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:n")
    who.set_defaults(func=_who)
    imp = sub.add_parser("import", help="import institutions or clues from XLSX/CSV (UTF-8 or GBK)")
    imp.add_argument("kind", choices=["institutions", "clues"])
    imp.add_argument("workspace")
    imp.add_argument("file")
    imp.add_argument("--crs", help="coordinate system of a file without a 坐标系 column: wgs84, gcj02, bd09, EPSG:n")
    for command, helptext, func in (("hotspots", "find clue hotspots (Gi*) and write them", _hotspots),
                                    ("risk", "score every site and cell and print the highest", _risk)):
        sp = sub.add_parser(command, help=helptext)
        sp.add_argument("workspace")
        sp.add_argument("--top", type=int, default=10, help="how many to print")
        sp.set_defaults(func=func)
    demo_cmd = sub.add_parser("demo-layers", help="write seeded demonstration institutions and clues (演示数据)")
    demo_cmd.add_argument("workspace")
    demo_cmd.add_argument("--seed", type=int, default=2026)
    demo_cmd.add_argument("--institutions", type=int, default=40)
    demo_cmd.add_argument("--clues", type=int, default=150)
    demo_cmd.set_defaults(func=_demo_layers)
    for sp in (imp, sub.choices["hotspots"], sub.choices["risk"], demo_cmd):
        sp.add_argument("--date", help="reference day for recency, YYYY-MM-DD (default: today, Asia/Shanghai)")
    for sp in (imp, sub.choices["hotspots"], sub.choices["risk"]):
        sp.add_argument("--settings", help="risk settings file (default: settings/risk.toml)")
    imp.set_defaults(func=_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (errors print one clear line, exit 2)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

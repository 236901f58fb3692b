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

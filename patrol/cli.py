"""``patrol``: build, check and query county workspaces from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from core.errors import InputError, StoreError

if TYPE_CHECKING:
    from routing.model import Plan


def _actor(args: argparse.Namespace) -> str:
    """Who runs the command, for the audit log: ``--actor``, ``$PATROL_USER`` or the login name."""
    from core.actor import cli_actor

    return getattr(args, "actor", None) or cli_actor()


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
            osm_path=Path(args.osm),
            streets_path=Path(args.streets),
            villages_path=Path(args.villages),
            boundary_path=Path(args.boundary) if args.boundary else None,
            boundary_crs=args.boundary_crs,
            county_name=args.county_name,
            out_path=args.out,
            replace=args.replace,
            actor=_actor(args),
            progress=on_step,
            on_nodes=on_nodes,
        )
    finally:
        nodes.close()
        steps.close()
    print("\n".join(summary.lines()))
    print(f"written: {args.out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from grid.check import check_workspace
    from store import open_store

    problems = check_workspace(open_store(args.workspace))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("grid is clean: every cell nested, no overlaps, no gaps, everyone has a responsible person")
    return 0


def _who(args: argparse.Namespace) -> int:
    from grid.who import who_is_responsible
    from store import open_store

    for link in who_is_responsible(open_store(args.workspace), args.lon, args.lat, crs=args.crs):
        print(link.line())
    return 0


def _import(args: argparse.Namespace) -> int:
    from layers.importer import write_rejects
    from layers.risk import import_and_analyse
    from store import open_store

    result = import_and_analyse(
        open_store(args.workspace),
        args.kind,
        args.file,
        crs=args.crs,
        today=args.date,
        settings_file=args.settings,
        actor=_actor(args),
    )
    say = str if args.lang is None else (lambda text: text.get(args.lang))
    print("\n".join(say(line) for line in result.lines()))
    rejected = write_rejects(result, args.file, args.lang)
    if rejected is not None:
        print(f"rejected rows written to {rejected}; fix them there and import that file again.")
        return 1
    return 0


def _hotspots(args: argparse.Namespace) -> int:
    from layers.risk import refresh
    from store import open_store

    layers = refresh(open_store(args.workspace), today=args.date, settings_file=args.settings, actor=_actor(args))
    cells, surface = layers["hotspot_cells"], layers["hotspot_surface"]
    print(
        f"as of {cells['as_of'].iloc[0]}: {int((cells['label'] == 'hot').sum())} of {len(cells)} community cells "
        f"and {int((surface['label'] == 'hot').sum())} of {len(surface)} lattice cells are significant hot spots "
        f"(Gi*, FDR-corrected)"
    )
    ranked = (
        cells.assign(is_hot=cells["label"] == "hot")
        .sort_values(["is_hot", "hot_lattice_cells", "weighted"], ascending=False)
        .head(args.top)
    )
    for row in ranked.itertuples():
        flag = "HOT" if row.is_hot else "   "
        print(
            f"{flag} {row.code} {row.name}: {row.clues} clues ({row.clues_recent} recent), "
            f"weighted {row.weighted:.2f}, Gi* z={row.gi_z:.2f}, p={row.p_value:.3f}, "
            f"{row.hot_lattice_cells} hot lattice cells"
        )
    return 0


def _risk(args: argparse.Namespace) -> int:
    from layers.risk import refresh
    from store import open_store

    layers = refresh(open_store(args.workspace), today=args.date, settings_file=args.settings, actor=_actor(args))
    for row in layers["risk_sites"].head(args.top).itertuples():
        print(f"{row.risk_score:.2f} {row.site_id} {row.name}: {row.risk_reasons}")
    print("cells:")
    for row in layers["risk_cells"].head(args.top).itertuples():
        print(f"{row.risk_score:.2f} {row.code} {row.name}: {row.risk_reasons}")
    return 0


def _demo_layers(args: argparse.Namespace) -> int:
    from layers.demo import demo_layers
    from layers.risk import analyse, write_analysis
    from store import open_store

    ws = open_store(args.workspace)
    layers = demo_layers(ws, seed=args.seed, institutions=args.institutions, clues=args.clues, today=args.date)
    write_analysis(
        ws,
        analyse(ws, **layers, today=args.date),
        extra=layers,
        actor=_actor(args),
        action="demo-layers",
        detail=f"seed {args.seed}: {args.institutions} institutions, {args.clues} clues (演示数据)",
    )
    print(f"wrote {args.institutions} demonstration institutions and {args.clues} clues (演示数据) to {args.workspace}")
    return 0


def _load_teams(args: argparse.Namespace, ws):
    from routing.teams import read_inspectors, read_teams

    teams = read_teams(args.teams, ws) if args.teams else None
    inspectors = read_inspectors(args.inspectors, ws) if args.inspectors else None
    return teams, inspectors


def _plan(args: argparse.Namespace) -> int:
    from core.settings import load_patrol_settings
    from routing.plan import check_plan_folder, make_plan, write_plan_files
    from routing.register import register_plan
    from store import open_store

    ws = open_store(args.workspace)
    teams, inspectors = _load_teams(args, ws)
    plan, seed = make_plan(
        ws,
        args.date,
        args.shift,
        teams=teams,
        inspectors=inspectors,
        settings=load_patrol_settings(args.settings, store=ws),
        time_limit=args.seconds,
        actor=_actor(args),
    )
    check_plan_folder(args.out)  # before registering: a plan registered without its files would need a redraw
    register_plan(ws, plan, seed=seed, actor=_actor(args))  # refused (nothing written) if the shift has a live plan
    written = write_plan_files(plan, seed, args.out)
    summary = plan.summary
    print(
        f"plan {plan.plan_id}: {summary.visits} visits by {len(plan.teams)} teams "
        f"({summary.mandatory} mandatory, {summary.drawn} drawn)"
    )
    for team in plan.teams:
        print(
            f"  {team.team_id} {team.name} [{team.mode}]: {len(team.stops)} stops, "
            f"back {team.back}, members {', '.join(m.name + '/' + m.department for m in team.members)}"
        )
    for item in plan.unplanned:
        print(f"  not planned: {item.visit_id} {item.name} — {item.reason}")
    for warning in plan.warnings:
        print(f"  warning: {warning}")
    print(f"commitment (publish now): {plan.commitment}")
    print(f"secret seed written to {written[-1]} and kept in the register — keep it until the inspections are done")
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    from routing.register import withdraw_plan
    from store import open_store

    withdraw_plan(open_store(args.workspace), args.plan_id, reason=args.reason, actor=_actor(args))
    print(f"withdrawn: {args.plan_id} ({args.reason}); a new plan may now be made for its date and shift")
    return 0


def _areas(args: argparse.Namespace) -> int:
    from routing.areas import area_history, compute_areas, current_areas, save_areas
    from store import open_store

    ws = open_store(args.workspace)
    if args.history:
        history = area_history(ws)
        if history.empty:
            print("no patrol areas saved yet; compute them with `patrol areas WORKSPACE`")
        for row in history.itertuples():
            print(f"v{row.version}\t{row.made_at}\t{row.made_by}\t{row.method}\t"
                  f"max deviation {100 * float(row.max_deviation):.1f}%\tbalanced: {row.balanced}")
        return 0
    if args.show:
        plan = current_areas(ws)
        if plan is None:
            raise InputError(f"{ws.label} has no saved patrol areas; compute them with "
                             f"`patrol areas {args.workspace}`.")
        print(f"version {plan.version}, saved {plan.made_at} by {plan.made_by} ({plan.method})")
    else:
        plan = compute_areas(ws, seed=args.seed)
        if not args.dry_run:
            plan = save_areas(ws, plan, actor=_actor(args), note=f"patrol areas --seed {args.seed}")
            print(f"saved as version {plan.version}")
    print(plan.summary())
    print(f"travel: {plan.travel_method}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from casework.simulate import simulate
    from store import open_store

    summary = simulate(open_store(args.workspace), getattr(args, "from"), args.days, seed=args.seed,
                       actor=getattr(args, "actor", None) or "演示模拟")
    print(summary.text())
    return 0


def _report(args: argparse.Namespace) -> int:
    from reports.figures import Period, double_ten, period_figures
    from reports.report import report_files
    from reports.workbook import summary_rows
    from store import open_store

    if bool(args.week) == bool(args.month):
        raise InputError("give exactly one of --week 2026-W49 or --month 2026-12.")
    period = Period.week(args.week) if args.week else Period.month(args.month)
    ws = open_store(args.workspace)
    figures = period_figures(ws, period)
    compliance = double_ten(ws, period, figures=figures)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, value in summary_rows(figures, compliance):
        print(f"  {name}：{value}")
    for name, data in report_files(ws, period, f"report_{args.week or args.month}").items():
        (out / name).write_bytes(data)
        print(f"written: {out / name}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from routing.register import ROUNDS, plan_seed, round_seed
    from store import open_store

    ws = open_store(args.workspace)
    is_round = ws.has_layer(ROUNDS) and not ws.read(ROUNDS, where={"round_id": args.id}, columns=["round_id"]).empty
    reveal = round_seed if is_round else plan_seed
    print(reveal(ws, args.id, actor=_actor(args)))
    return 0


def _publish(args: argparse.Namespace) -> int:
    from access.plans import publications, publications_csv, publish_plan
    from store import open_store

    ws = open_store(args.workspace)
    if args.plan_id:
        record = publish_plan(ws, args.plan_id, actor=_actor(args))
        print(f"published {record['plan_id']}: seed {record['seed']}, commitment {record['commitment']}")
    table = publications(ws)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_bytes(publications_csv(table))
        print(f"written: {args.out} ({len(table)} published plan(s); check one with "
              f"`patrol verify PLAN.json --published {args.out}`)")
    return 0


def _user(args: argparse.Namespace) -> int:
    import getpass

    from access.accounts import add_account, list_accounts, set_active, set_password
    from store import open_store

    ws = open_store(args.workspace)
    actor = _actor(args)
    if args.action == "list":
        for account in list_accounts(ws, actor=actor):
            bound = account.team_id or account.inspector_id
            print(f"  {account.username:16} {account.role.value:12} {'active' if account.active else 'disabled':8} "
                  f"{account.display_name}" + (f"  [{bound}]" if bound else "")
                  + (f"  locked until {account.locked_until}" if account.locked_until else ""))
        return 0
    if not args.username:
        raise InputError(f"`patrol user {args.action}` needs the user name.")
    if args.action in ("disable", "enable"):
        set_active(ws, args.username, args.action == "enable", actor=actor)
        print(f"{args.action}d: {args.username}")
        return 0
    if args.password_file:
        path = Path(args.password_file)
        if not path.is_file():
            raise InputError(f"password file {path} does not exist.")
        try:
            password = path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError as exc:
            raise InputError(f"password file {path} is not UTF-8 text.") from exc
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("again: "):
            raise InputError("the two passwords differ; nothing was changed.")
    if args.action == "add":
        account = add_account(ws, username=args.username, password=password, role=args.role or "", actor=actor,
                              display_name=args.name or "", team_id=args.team or "",
                              inspector_id=args.inspector or "", sso_identity=args.sso or "",
                              cell_code=args.cell or "")
        print(f"added: {account.username} ({account.role.value})")
    else:
        set_password(ws, args.username, password, actor=actor)
        print(f"password changed: {args.username}")
    return 0


def _published_rows(path: str) -> dict[str, dict[str, str]]:
    import csv

    if not Path(path).is_file():
        raise InputError(f"published list {path} does not exist.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a published list written by `patrol publish --out` ({exc}).") from exc
    if not rows or "plan_id" not in rows[0]:
        raise InputError(f"{path} is not a published list (no plan_id column); get it from `patrol publish --out`.")
    return {str(row["plan_id"]): {str(k): v.lstrip("'") for k, v in row.items() if isinstance(k, str)
                                  and isinstance(v, str)} for row in rows}


def _verify(args: argparse.Namespace) -> int:
    from routing.plan import read_plan_document, verify_plan

    seed = args.seed
    published_rows = _published_rows(args.published) if args.published else None
    if published_rows is not None and seed is None:
        plan_id = str(read_plan_document(args.plan).get("plan_id"))
        seed = published_rows.get(plan_id, {}).get("seed") or None
    if seed is None and args.seed_file:
        if not Path(args.seed_file).is_file():
            raise InputError(f"seed file {args.seed_file} does not exist.")
        seed = next(iter(Path(args.seed_file).read_text(encoding="utf-8").split()), None)
    if seed is None:
        raise InputError("give the revealed seed with --seed SEED (or --seed-file SECRET_seed.txt).")
    plan = read_plan_document(args.plan)
    registered = published = None
    registered_status: tuple[str, str, str] | None = None
    if args.workspace:
        from routing.register import plans_register, registered_plan
        from store import open_store

        ws = open_store(args.workspace)
        registered = registered_plan(ws, str(plan.get("plan_id")))
        row = plans_register(ws).query("plan_id == @plan.get('plan_id')").iloc[0]
        registered_status = (str(row["status"]), str(row["withdrawn_at"]), str(row["withdraw_reason"]))
    if published_rows is not None:
        published = published_rows.get(str(plan.get("plan_id")))
        if published is None:
            raise InputError(f"{args.published} does not list plan {plan.get('plan_id')}.")
    problems = verify_plan(plan, seed, registered=registered, published=published)
    if registered_status is not None and registered_status[0] == "withdrawn":
        problems.append(f"the plan was withdrawn on {registered_status[1][:16]} ({registered_status[2]}); it is "
                        "not the live plan of its date and shift")
    if problems:
        print(f"NOT CONFIRMED: plan {plan.get('plan_id')} does not reproduce:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    draw = f"plan {plan['plan_id']} reproduces from the seed; commitment {plan['commitment']} matches"
    if registered is None and published is None:
        print(f"NOT BOUND: {draw}, and the file agrees with its own digest — but anyone holding the file could "
              "have edited it and recomputed that. Check it against what was committed: --workspace WORKSPACE "
              "(the register) or --published LIST.csv (the published list).")
        return 1
    bound = "the registered plan" if registered is not None else "the published record"
    print(f"confirmed: {draw}; every route, stop and member matches {bound}.")
    return 0


def _schedule(args: argparse.Namespace) -> int:
    import json

    from core.settings import load_patrol_settings
    from routing.plan import check_plan_folder, write_plan_files, write_secret
    from routing.schedule import schedule
    from store import open_store

    ws = open_store(args.workspace)
    teams, inspectors = _load_teams(args, ws)
    result = schedule(
        ws,
        getattr(args, "from"),
        days=args.days,
        shift=args.shift,
        teams=teams,
        inspectors=inspectors,
        settings=load_patrol_settings(args.settings, store=ws),
        time_limit=args.seconds,
    )
    from routing.register import register_round

    if args.out:  # every folder is checked before anything is registered
        for day in result["plans"]:
            check_plan_folder(Path(args.out) / day["date"])
        if (Path(args.out) / "SECRET_round_seed.txt").exists():
            raise InputError(f"{Path(args.out) / 'SECRET_round_seed.txt'} exists already: a seed is never "
                             "overwritten; choose another --out folder.")
    record = register_round(ws, result, seed=result["seed"], actor=_actor(args))
    print(f"round {record['round_id']} registered with {len(result['plans'])} daily plans; "
          f"commitment (publish now): {record['commitment']}")
    for day in result["plans"]:
        print(
            f"{day['date']}: {day['visits']} visits, {day['institutions']} institutions of the round"
            + (f", {day['carried']} carried to the next day" if day["carried"] else "")
        )
        if args.out:
            write_plan_files(day["plan"], day["seed"], Path(args.out) / day["date"])
    print(
        f"{result['institutions']} active institutions ({result['high_risk']} high-risk, inspected twice): "
        f"{result['visits_made']} of {result['visits_needed']} round visits planned; "
        f"{result['per_team_day']} visits per team-day."
    )
    if args.out:
        summary = {k: v for k, v in result.items() if k not in ("plans", "seed", "round_sites", "round_high")}
        (Path(args.out) / "schedule.json").write_text(json.dumps({**summary, "round": record}, ensure_ascii=False,
                                                                 indent=1), "utf-8")
        write_secret(Path(args.out) / "SECRET_round_seed.txt", f"{result['seed']}\n# 双十轮次 {record['round_id']} "
                     "的随机种子：本轮最后一天检查结束前不得外传。 / Keep secret until the round's last shift ends.\n")
    if result["met"]:
        print(
            f"double-ten rule met: every active institution within {result['days']} days and at least "
            f"{result['min_daily']} inspections every day."
        )
        return 0
    print(
        f"double-ten rule NOT met: {len(result['uncovered'])} institutions not covered"
        + (
            f" ({', '.join(result['uncovered'][:10])}{'…' if len(result['uncovered']) > 10 else ''})"
            if result["uncovered"]
            else ""
        )
        + (
            f"; days under {result['min_daily']} inspections: "
            + ", ".join(f"{d} (−{n})" for d, n in result["days_under_minimum"].items())
            if result["days_under_minimum"]
            else ""
        )
        + f". The teams fall short by about {result['shortfall_team_days']} team-days."
    )
    return 1


def _teams(args: argparse.Namespace) -> int:
    from routing.teams import import_teams, workspace_teams
    from store import open_store

    ws = open_store(args.workspace)
    if args.teams or args.inspectors:
        teams, people, problems = import_teams(ws, teams_path=args.teams, inspectors_path=args.inspectors,
                                               actor=_actor(args))
        print(f"saved: {len(teams)} teams and {len(people)} inspectors in use in {ws.label}")
    else:
        from core.settings import load_patrol_settings
        from routing.teams import rule_problems

        teams, people = workspace_teams(ws)
        problems = rule_problems(teams, people, load_patrol_settings(store=ws).teams)
    for row in teams.itertuples():
        print(f"{row.team_id}\t{row.name}\t{row.mode}\t({row.base_lon}, {row.base_lat})")
    print(f"{len(people)} inspectors in use, {int(people['law_cert'].sum())} with a law-enforcement certificate, "
          f"{people['department'].nunique()} departments")
    for problem in problems:
        print(f"warning: {problem}")
    return 0


def _demo_teams(args: argparse.Namespace) -> int:
    from routing.teams import demo_teams, teams_layers
    from store import open_store

    ws = open_store(args.workspace)
    teams, inspectors = demo_teams(ws, n_teams=args.teams, n_inspectors=args.inspectors, seed=args.seed)
    with ws.transaction(
        actor=_actor(args),
        action="demo-teams",
        detail=f"seed {args.seed}: {args.teams} teams, {args.inspectors} inspectors (演示数据)",
    ) as tx:
        for name, frame in teams_layers(teams, inspectors).items():
            tx.replace(name, frame)
    print(f"wrote {args.teams} demonstration teams and {args.inspectors} inspectors (演示数据) to {args.workspace}")
    return 0


def _plan_arg(ref: str, workspace: str | None) -> Plan:
    """A plan from a plan.json path, or by id from the workspace's register."""
    from casework.results import resolve_plan
    from routing.plan import read_plan
    from store import open_store

    if workspace:
        return resolve_plan(open_store(workspace), ref)
    if not Path(ref).is_file():
        raise InputError(f"plan file {ref} does not exist (to give a plan id, add --workspace WORKSPACE.gpkg).")
    return read_plan(ref)


def _record(args: argparse.Namespace) -> int:
    from casework.results import read_results_file, record_results, resolve_plan
    from store import open_store

    ws = open_store(args.workspace)
    plan = resolve_plan(ws, args.plan)
    results, blank = read_results_file(args.results)
    summary = record_results(ws, plan, results, team_id=args.team, actor=_actor(args))
    print(summary.text())
    if blank:
        print(f"rows {', '.join(map(str, blank))} left blank: not recorded (fill them in and upload again later)")
    return 0


def _template(args: argparse.Namespace) -> int:
    from casework.template import results_template

    plan = _plan_arg(args.plan, args.workspace)
    Path(args.out).write_bytes(results_template(plan, args.team))
    print(f"written: {args.out}")
    return 0


def _sheet(args: argparse.Namespace) -> int:
    from routing.sheet import route_sheet_pdf
    from store import open_store

    plan = _plan_arg(args.plan, args.workspace)
    ws = open_store(args.workspace) if args.workspace else None
    Path(args.out).write_bytes(route_sheet_pdf(plan, args.team, workspace=ws, lang=args.lang))
    print(f"written: {args.out}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from casework.history import case_history, clue_history
    from store import open_store

    ws = open_store(args.workspace)
    if bool(args.clue) == bool(args.case):
        raise InputError("give exactly one of --clue ID or --case ID.")
    frame = clue_history(ws, args.clue) if args.clue else case_history(ws, args.case)
    for row in frame.itertuples():
        print(
            f"{str(row.time)[:16].replace('T', ' '):16}  {row.event:8}  {row.detail}"
            + (f"  [{row.by}]" if row.by else "")
        )
    return 0


def _cases(args: argparse.Namespace) -> int:
    from casework.results import cases_table
    from layers.schema import label
    from store import open_store

    cases = cases_table(open_store(args.workspace))
    if args.status:
        cases = cases[cases["status"] == args.status]
    for row in cases.itertuples():
        print(
            f"{row.case_id}  {label('case_status', row.status):4}  due {row.due}  revisit {row.revisit_due}  "
            f"{row.name}  {row.problems}"
        )
    print(f"{len(cases)} case(s)")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from store import open_store
    from store.migrate import migrate

    summary = migrate(open_store(args.source), open_store(args.target), actor=_actor(args), replace=args.replace)
    print("\n".join(summary.lines()))
    return 0


def _settings(args: argparse.Namespace) -> int:
    import dataclasses

    from core.settings import load_patrol_settings, load_risk_settings, save_county_settings
    from store import open_store

    ws = open_store(args.workspace)
    if args.set:
        path = Path(args.set)
        if not path.is_file():
            raise InputError(f"settings file {path} does not exist.")
        save_county_settings(ws, args.kind, path.read_text(encoding="utf-8"), actor=_actor(args))
        print(f"saved the county's own {args.kind} settings from {path} in {ws.label}")
    settings = (load_patrol_settings if args.kind == "patrol" else load_risk_settings)(store=ws)
    print(f"{args.kind} settings in force: {settings.source}")
    for key, value in dataclasses.asdict(settings).items():
        if key != "source":
            print(f"  {key} = {value}")
    return 0


def _workspaces(args: argparse.Namespace) -> int:
    from store import open_store
    from store.home import patrol_home, working_workspaces

    print(f"data home: {patrol_home()} (set PATROL_HOME to move it)")
    for path in working_workspaces():
        meta = open_store(path).meta()
        print(f"  {path.stem}: {meta.get('county_name', '')} ({meta.get('county_code', '')})  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="patrol", description="双减 grid management and patrol planning")
    parser.add_argument("--actor", help="who acts, for the audit log (default: $PATROL_USER or the login name)")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-workspace", help="build a county workspace from OSM and code lists")
    build.add_argument("--osm", required=True, help="OpenStreetMap file, .osm (XML) or .osm.pbf")
    build.add_argument("--streets", required=True, help="official township list, streets_<county>.csv")
    build.add_argument("--villages", required=True, help="official community list, villages_<county>.csv")
    build.add_argument("--boundary", help="county boundary (GeoJSON, GeoPackage, Shapefile…)")
    build.add_argument(
        "--boundary-crs", help="what the boundary's coordinates are: wgs84, cgcs2000, gcj02, bd09, EPSG:n"
    )
    build.add_argument("--county-name", help="county name, if no areas.csv lies beside the streets file")
    build.add_argument("--replace", action="store_true",
                       help="overwrite a workspace that already holds plans, results or cases")
    build.add_argument("--out", required=True, help="workspace to write: a .gpkg file or a postgresql://…?county= URL")
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
    imp.add_argument("--lang", choices=["zh", "en"], help="language of the report and the rejected rows' reasons "
                     "(default: both, Chinese / English)")
    for command, helptext, func in (
        ("hotspots", "find clue hotspots (Gi*) and write them", _hotspots),
        ("risk", "score every site and cell and print the highest", _risk),
    ):
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
    plan = sub.add_parser("plan", help="make an unannounced patrol plan for a day or night shift")
    plan.add_argument("workspace")
    plan.add_argument("--date", required=True, help="day of the plan, YYYY-MM-DD (Asia/Shanghai)")
    plan.add_argument("--shift", choices=["day", "night"], default="day")
    plan.add_argument("--out", required=True, help="folder for plan.json, plan.geojson, GPX files and the seed")
    sched = sub.add_parser("schedule", help="plan a double-ten round (双十原则) and report any shortfall")
    sched.add_argument("workspace")
    sched.add_argument("--from", required=True, help="first day, YYYY-MM-DD")
    sched.add_argument("--days", type=int, help="length of the round (default from settings: 10)")
    sched.add_argument("--shift", choices=["day", "night"], default="day")
    sched.add_argument("--out", help="folder for each day's plan files and schedule.json")
    for sp in (plan, sched):
        sp.add_argument("--teams", help="teams.csv (team_id,name,base_lon,base_lat,mode); default: the workspace's")
        sp.add_argument("--inspectors", help="inspectors.csv (inspector_id,name,department,law_cert,home_community)")
        sp.add_argument("--settings", help="patrol settings file (default: settings/patrol.toml)")
        sp.add_argument("--seconds", type=float, help="solver time per plan (default from settings)")
    plan.set_defaults(func=_plan)
    sched.set_defaults(func=_schedule)
    verify = sub.add_parser("verify", help="check a plan's draw against its commitment and the revealed seed")
    verify.add_argument("plan", help="plan.json")
    verify.add_argument("--seed", help="the revealed seed")
    verify.add_argument("--seed-file", help="or the SECRET_seed.txt written with the plan")
    verify.add_argument("--workspace", help="check every route against the plan registered in this workspace")
    verify.add_argument("--published", help="check against a published list (`patrol publish --out`; gives the seed)")
    withdraw = sub.add_parser("withdraw", help="withdraw a live plan with a reason (so that its shift can be redrawn)")
    withdraw.add_argument("workspace")
    withdraw.add_argument("plan_id")
    withdraw.add_argument("--reason", required=True, help="why the plan is withdrawn (shown to leaders)")
    publish = sub.add_parser("publish", help="一公开: publish a plan's results, commitment and seed after its window")
    publish.add_argument("workspace")
    publish.add_argument("plan_id", nargs="?", help="the plan to publish (omit to only write the list)")
    publish.add_argument("--out", help="write every published plan to this CSV")
    sim = sub.add_parser("simulate", help="a lived-in county (演示数据): days of plans, results and clues")
    sim.add_argument("workspace")
    sim.add_argument("--from", required=True, help="first day, YYYY-MM-DD")
    sim.add_argument("--days", type=int, default=30)
    sim.add_argument("--seed", type=int, default=2026)
    sim.set_defaults(func=_simulate)
    areas = sub.add_parser("areas", help="包片: split the communities among the teams into balanced, contiguous "
                           "patrol areas, save them as a new version and print the balance of each")
    areas.add_argument("workspace")
    areas.add_argument("--seed", type=int, default=2026, help="the partition's random seed")
    areas.add_argument("--dry-run", action="store_true", help="compute and print, save nothing")
    areas.add_argument("--show", action="store_true", help="print the saved areas' balance on today's workloads")
    areas.add_argument("--history", action="store_true", help="list the saved versions with who and when")
    areas.add_argument("--actor", default=argparse.SUPPRESS, help="who saves (default: the login name)")
    areas.set_defaults(func=_areas)
    rep = sub.add_parser("report", help="the leaders' weekly or monthly report (XLSX and PDF)")
    rep.add_argument("workspace")
    rep.add_argument("--week", help="an ISO week, e.g. 2026-W49")
    rep.add_argument("--month", help="a month, e.g. 2026-12")
    rep.add_argument("--out", required=True, help="folder for report_<period>.xlsx and .pdf")
    rep.set_defaults(func=_report)
    seed_cmd = sub.add_parser("seed", help="reveal a plan's or a double-ten round's seed once its window has closed")
    seed_cmd.add_argument("workspace")
    seed_cmd.add_argument("id", help="a plan id or a round id")
    seed_cmd.set_defaults(func=_seed)
    user = sub.add_parser("user", help="manage accounts: add, passwd, disable, enable, list")
    user.add_argument("action", choices=["add", "passwd", "disable", "enable", "list"])
    user.add_argument("workspace")
    user.add_argument("username", nargs="?")
    user.add_argument("--role", choices=["admin", "planner", "team_leader", "leader", "grid_member", "volunteer"])
    user.add_argument("--name", help="the person's name as shown in the app")
    user.add_argument("--team", help="a team leader's team (team_id)")
    user.add_argument("--inspector", help="or the inspector a team leader is (inspector_id)")
    user.add_argument("--cell", help="a grid member's own cell: a community or building code (网格)")
    user.add_argument("--password-file", help="read the password from this file instead of a prompt")
    user.add_argument("--sso", help="the e-mail the bureau's identity provider gives this person (single sign-on)")
    verify.set_defaults(func=_verify)
    withdraw.set_defaults(func=_withdraw)
    publish.set_defaults(func=_publish)
    user.set_defaults(func=_user)
    teams_cmd = sub.add_parser("teams", help="list the workspace's teams and inspectors, or replace them from "
                               "CSV/XLSX files (checked row by row; the draw's rules are checked too)")
    teams_cmd.add_argument("workspace")
    teams_cmd.add_argument("--teams", help="teams file: team_id,name,base_lon,base_lat,mode")
    teams_cmd.add_argument("--inspectors", help="inspectors file: inspector_id,name,department,law_cert,home_community")
    teams_cmd.add_argument("--actor", default=argparse.SUPPRESS, help="who imports (default: the login name)")
    teams_cmd.set_defaults(func=_teams)
    demo_teams_cmd = sub.add_parser("demo-teams", help="write demonstration teams and inspectors (演示数据)")
    demo_teams_cmd.add_argument("workspace")
    demo_teams_cmd.add_argument("--teams", type=int, default=4)
    demo_teams_cmd.add_argument("--inspectors", type=int, default=16)
    demo_teams_cmd.add_argument("--seed", type=int, default=2026)
    demo_teams_cmd.set_defaults(func=_demo_teams)
    record = sub.add_parser("record", help="record a team's results from a filled-in spreadsheet (XLSX/CSV)")
    record.add_argument("workspace")
    record.add_argument("--plan", required=True, help="plan id or plan.json (must be registered in the workspace)")
    record.add_argument("--results", required=True, help="results spreadsheet (see `patrol template`)")
    record.add_argument("--team", help="only accept stops of this team")
    record.add_argument("--actor", default=argparse.SUPPRESS, help="who records (default: the login name)")
    record.set_defaults(func=_record)
    for name, helptext, func in (
        ("sheet", "print a team's route sheet (A4 PDF)", _sheet),
        ("template", "a team's results spreadsheet to fill in (XLSX)", _template),
    ):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("plan", help="plan.json, or a plan id with --workspace")
        sp.add_argument("--team", required=True, help="team id, e.g. T1")
        sp.add_argument("--out", required=True)
        sp.add_argument("--workspace", help="the workspace (for a plan id, and the road map of the sheet)")
        sp.set_defaults(func=func)
    sub.choices["sheet"].add_argument("--lang", choices=["zh", "en"], default="zh")
    history = sub.add_parser("history", help="the history of a clue or a rectification case")
    history.add_argument("workspace")
    history.add_argument("--clue")
    history.add_argument("--case")
    history.set_defaults(func=_history)
    cases = sub.add_parser("cases", help="list rectification cases (整改) and their revisit dates")
    cases.add_argument("workspace")
    cases.add_argument("--status", choices=["rectifying", "closed", "withdrawn"])
    cases.set_defaults(func=_cases)
    mig = sub.add_parser("migrate", help="copy a county's workspace between a .gpkg and a PostGIS database")
    mig.add_argument("source", help="a .gpkg path or a postgresql://…?county=CODE URL")
    mig.add_argument("target", help="a .gpkg path or a postgresql://… URL (county taken from the source)")
    mig.add_argument("--replace", action="store_true", help="overwrite a target that already holds the county")
    mig.set_defaults(func=_migrate)
    sett = sub.add_parser("settings", help="show the settings in force for a county, or keep its own values")
    sett.add_argument("workspace")
    sett.add_argument("--kind", choices=["patrol", "risk"], default="patrol")
    sett.add_argument("--set", help="a TOML file with only the keys this county changes (kept in the workspace)")
    sett.set_defaults(func=_settings)
    home = sub.add_parser("workspaces", help="list your workspaces in the data home (copies of the samples)")
    home.set_defaults(func=_workspaces)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (errors print one clear line, exit 2)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error (the database, not your input): {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

"""The figures leaders report (../shared/DOMAIN.md, "What leaders read"), for a week or a month.

Everything is counted from what is stored — the plan register, the results, the cases and the
clues — never from a copy kept for reporting, so a report and the pages always agree:

* inspections (visited stops), communities swept, institutions, care centres (托管) and high-risk
  places checked, inspector turn-outs (人次: the members of every team that went out, per shift);
* problems found by checklist item, notices by kind (整改通知、停办通知、抄告单);
* cases opened and closed (整改销号) with the mean days to close;
* clues received, verified (checked on site), answered, and the share answered within the
  verification deadline; plans registered and withdrawn (redraws);
* the same per township and per team, and per day against the double-ten daily target.

:func:`double_ten` adds the rule's compliance: per day, per institution (covered within the
rolling ``days`` or overdue, by how many days) and the shortfall in team-days.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from casework.results import current_results, results_from_layer
from core.clock import TIMEZONE
from core.errors import InputError
from core.settings import PatrolSettings, load_patrol_settings
from core.visits import VisitRef
from layers import schema
from routing.plan import flying_not_done
from routing.register import plans_register
from store import Store

NOTICES = ("rectify", "close", "refer")


@dataclass(frozen=True)
class Period:
    """Days ``start`` … ``end`` (both included, Asia/Shanghai) and how a report names them."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str

    @classmethod
    def week(cls, text: str) -> Period:
        """An ISO week such as ``2026-W49`` (Monday to Sunday)."""
        match = re.fullmatch(r"(\d{4})-W(\d{1,2})", text.strip())
        if not match or not 1 <= int(match.group(2)) <= 53:
            raise InputError(f"周 {text!r} 无法识别，请写成 2026-W49。 / --week {text!r}: give an ISO week "
                             "like 2026-W49.")
        monday = pd.Timestamp.fromisocalendar(int(match.group(1)), int(match.group(2)), 1).tz_localize(TIMEZONE)
        return cls(monday, monday + pd.Timedelta(days=6), f"{match.group(1)}年第{int(match.group(2))}周")

    @classmethod
    def month(cls, text: str) -> Period:
        """A month such as ``2026-12``."""
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f"月 {text!r} 无法识别，请写成 2026-12。 / --month {text!r}: give a month like 2026-12.")
        first = pd.Timestamp(int(match.group(1)), int(match.group(2)), 1, tz=TIMEZONE)
        return cls(first, first + pd.offsets.MonthEnd(0), f"{match.group(1)}年{int(match.group(2))}月")

    def days(self) -> list[str]:
        """Every day of the period as ``YYYY-MM-DD``."""
        return [d.strftime("%Y-%m-%d") for d in pd.date_range(self.start, self.end, freq="D")]

    def holds(self, dates: pd.Series) -> pd.Series:
        """Which ``YYYY-MM-DD…`` texts fall in the period."""
        day = dates.fillna("").astype(str).str[:10]
        return (day >= f"{self.start:%Y-%m-%d}") & (day <= f"{self.end:%Y-%m-%d}")


@dataclass(frozen=True)
class Figures:
    """What a leader reads for a period (see module doc)."""

    period: Period
    inspections: int
    communities_swept: int
    institutions_checked: int
    care_centres_checked: int
    places_checked: int
    turnouts: int
    problems_by_item: dict[str, int]
    notices_by_kind: dict[str, int]
    cases_opened: int
    cases_closed: int
    mean_days_to_close: float | None
    clues_received: int
    clues_verified: int
    clues_answered: int
    answered_in_time_share: float | None
    plans: int
    plans_withdrawn: int
    by_township: pd.DataFrame  # township_code, township, inspections, communities, problems, notices
    by_team: pd.DataFrame  # team_id, team, shifts, inspections, turnouts, problems, notices
    daily: pd.DataFrame  # date, inspections, target
    clues_by_channel: dict[str, int] = field(default_factory=dict)  # received, by source (热线、网格员、志愿者…)
    grid_walks: int = 0  # "nothing found today" reports of the grid's own patrols (一排查一上报)
    cells_walked: int = 0  # distinct cells those reports cover


def _visited(ws: Store, period: Period, hidden: set[str] | None = None) -> pd.DataFrame:
    results = current_results(results_from_layer(ws.read_optional("results")))
    hidden = flying_not_done(ws) if hidden is None else hidden  # a flying check counts once it is over
    results = results[~results["plan_id"].isin(hidden)]
    results = results[period.holds(results["date"]) & results["visited"].astype(bool)].copy()
    results["items"] = [
        [c for c, v in json.loads(text).items() if v == "problem"] if text else [] for text in results["checklist"]
    ]
    return results


def _with(frame: pd.DataFrame | None, *columns: str) -> pd.DataFrame:
    """``frame`` (or an empty one) with ``columns``, empty where a layer never had them (no result yet)."""
    frame = pd.DataFrame(columns=list(columns)) if frame is None else frame.copy()
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame


def _townships(ws: Store) -> tuple[dict[str, str], dict[str, str]]:
    communities = ws.read("communities", columns=["code", "parent_code"])
    townships = ws.read("townships", columns=["code", "name"])
    return (dict(zip(communities["code"], communities["parent_code"], strict=True)),
            dict(zip(townships["code"], townships["name"], strict=True)))


def period_figures(ws: Store, period: Period, settings: PatrolSettings | None = None) -> Figures:
    """Count every figure of ``period`` from the workspace (see module doc)."""
    settings = settings or load_patrol_settings(store=ws)
    hidden = flying_not_done(ws)
    visited = _visited(ws, period, hidden)
    targets = [VisitRef.parse(v) for v in visited["visit_id"]]
    visited["target"] = [t.target for t in targets]
    institutions = ws.read_optional("institutions")
    kinds = {} if institutions is None else dict(zip(institutions["institution_id"], institutions["kind"],
                                                     strict=True))
    is_institution = visited["kind"] == "institution"
    register = plans_register(ws)
    register = register[period.holds(register["date"]) & ~register["plan_id"].isin(hidden)]
    members = {}
    for text in register["plan_json"]:
        plan = json.loads(text)
        members.update({(plan["plan_id"], t["team_id"]): len(t["members"]) for t in plan["teams"]})
    went_out = visited[["plan_id", "team_id"]].drop_duplicates()
    items = pd.Series([i for row in visited["items"] for i in row], dtype=object)
    cases = _with(ws.read_optional("cases"), "opened_at", "closed_at")
    opened = cases[period.holds(cases["opened_at"])]
    closed = cases[period.holds(cases["closed_at"])]
    to_close = (pd.to_datetime(closed["closed_at"], utc=True) - pd.to_datetime(closed["opened_at"], utc=True)).dt.days
    clues = _with(ws.read_optional("clues"), "received_at", "handled_at")
    answered = clues[period.holds(clues["handled_at"])]
    deadline = (pd.to_datetime(answered["received_at"].astype(str).str[:10]) +
                pd.Timedelta(days=settings.verify_clues_within_days))
    in_time = pd.to_datetime(answered["handled_at"].astype(str).str[:10]) <= deadline
    received = _with(clues[period.holds(clues["received_at"])], "channel")
    from casework.field import grid_walks

    walks = grid_walks(ws, f"{period.start:%Y-%m-%d}", f"{period.end:%Y-%m-%d}")
    township_of, township_names = _townships(ws)
    visited["township_code"] = visited["community_code"].map(township_of).fillna("")
    visited["problem"] = visited["items"].map(bool) | (visited["finding"] == "not_fixed")
    visited["notice"] = visited["action"].isin(NOTICES)
    by_township = (visited.groupby("township_code").agg(inspections=("visit_id", "size"),
                                                         communities=("community_code", "nunique"),
                                                         problems=("problem", "sum"), notices=("notice", "sum"))
                   .reset_index())
    by_township.insert(1, "township", by_township["township_code"].map(township_names).fillna(""))
    teams = ws.read_optional("teams")
    team_names = {} if teams is None else dict(zip(teams["team_id"], teams["name"], strict=True))
    by_team = (visited.groupby("team_id").agg(shifts=("plan_id", "nunique"), inspections=("visit_id", "size"),
                                              problems=("problem", "sum"), notices=("notice", "sum")).reset_index())
    by_team.insert(1, "team", by_team["team_id"].map(team_names).fillna(""))
    by_team.insert(3, "turnouts", [sum(members.get((p, t), 0) for p, t in went_out.itertuples(index=False)
                                       if t == team) for team in by_team["team_id"]])
    per_day = visited.groupby("date").size()
    daily = pd.DataFrame({"date": period.days()})
    daily["inspections"] = daily["date"].map(per_day).fillna(0).astype(int)
    daily["target"] = settings.double_ten.min_daily
    return Figures(
        period=period, inspections=len(visited), communities_swept=int(visited["community_code"].nunique()),
        institutions_checked=int(visited.loc[is_institution, "target"].nunique()),
        care_centres_checked=int(visited.loc[is_institution & (visited["target"].map(kinds) == "care"),
                                             "target"].nunique()),
        places_checked=int(visited.loc[visited["kind"] == "place", "target"].nunique()),
        turnouts=sum(members.get((p, t), 0) for p, t in went_out.itertuples(index=False)),
        problems_by_item={term.code: int((items == term.code).sum()) for term in schema.CHECKLIST_ITEMS},
        notices_by_kind={kind: int((visited["action"] == kind).sum()) for kind in NOTICES},
        cases_opened=len(opened), cases_closed=len(closed),
        mean_days_to_close=round(float(to_close.mean()), 1) if len(to_close) else None,
        clues_received=int(period.holds(clues["received_at"]).sum()),
        clues_verified=int((visited["kind"] == "clue").sum()), clues_answered=len(answered),
        answered_in_time_share=round(float(in_time.mean()), 3) if len(answered) else None,
        plans=len(register), plans_withdrawn=int((register["status"] == "withdrawn").sum()),
        by_township=by_township, by_team=by_team, daily=daily,
        clues_by_channel={term.code: int((received["channel"] == term.code).sum()) for term in schema.CLUE_CHANNELS},
        grid_walks=len(walks), cells_walked=int(walks["cell_code"].nunique()),
    )


@dataclass(frozen=True)
class DoubleTen:
    """双十原则 compliance at the end of a period."""

    daily: pd.DataFrame  # date, inspections, target, short
    institutions: pd.DataFrame  # institution_id, name, township, last_visit, days_since, overdue_days
    overdue: int
    shortfall_team_days: int


def double_ten(ws: Store, period: Period, settings: PatrolSettings | None = None, *,
               figures: Figures | None = None) -> DoubleTen:
    """Per day inspections against the target, per active institution covered or overdue at the
    period's end (``overdue_days`` past the rolling window; never visited counts from the period's
    start), and the team-days the shortfall of the period's days amounts to."""
    settings = settings or load_patrol_settings(store=ws)
    rule = settings.double_ten
    figures = figures or period_figures(ws, period, settings)
    daily = figures.daily.assign(short=lambda f: (f["target"] - f["inspections"]).clip(lower=0))
    everything = Period(pd.Timestamp("1900-01-01", tz=TIMEZONE), period.end, "")
    visits = _visited(ws, everything)
    visits = visits[visits["kind"] == "institution"]
    last = visits.assign(target=[VisitRef.parse(v).target for v in visits["visit_id"]]).groupby("target")["date"].max()
    institutions = ws.read_optional("institutions")
    rows = []
    township_of, township_names = _townships(ws)
    for row in ([] if institutions is None else institutions.itertuples()):
        if row.status == "deregistered":
            continue
        seen = last.get(row.institution_id)
        since = (period.end - pd.Timestamp(seen, tz=TIMEZONE)).days if seen else (period.end - period.start).days + 1
        rows.append({"institution_id": row.institution_id, "name": row.name,
                     "township": township_names.get(township_of.get(str(row.community_code or ""), ""), ""),
                     "last_visit": seen or "", "days_since": since, "overdue_days": max(0, since - rule.days + 1)})
    table = pd.DataFrame(rows, columns=["institution_id", "name", "township", "last_visit", "days_since",
                                        "overdue_days"]).sort_values("overdue_days", ascending=False)
    team_days = int(figures.by_team["shifts"].sum())
    per_team_day = figures.inspections / team_days if team_days else 0.0
    short = int(daily["short"].sum())
    return DoubleTen(daily=daily, institutions=table.reset_index(drop=True),
                     overdue=int((table["overdue_days"] > 0).sum()),
                     shortfall_team_days=0 if short == 0 else math.ceil(short / max(per_team_day, 0.1)))

"""Teams and inspectors: reading their lists, demonstration ones, and the random team draw.

``teams.csv``: ``team_id, name, base_lon, base_lat, mode`` (walk, ebike or car; base in WGS84).
``inspectors.csv``: ``inspector_id, name, department, law_cert, home_community`` and optionally
``responsible_communities`` (codes or names separated by ``;``). Chinese headers work too.

``draw_teams`` draws inspectors into teams of ``[teams] size`` at random under the 双随机 rules: every team mixes at
least two departments and has a member with a law-enforcement certificate, and no two people
who rode together on the previous day ride together again. A team never visits a community
one of its members lives in or is responsible for; the planner enforces that per team.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from core.errors import InputError, problems_error
from core.settings import MODES, TeamSettings
from grid.demo import DEMO_LABEL, demo_people
from layers.tables import read_table
from routing.draw import shuffled
from store import Store

TEAM_HEADERS: dict[str, tuple[str, ...]] = {
    "team_id": ("队伍编号", "组号", "team_id", "team", "id"),
    "name": ("队伍名称", "名称", "name"),
    "base_lon": ("驻地经度", "经度", "base_lon", "lon"),
    "base_lat": ("驻地纬度", "纬度", "base_lat", "lat"),
    "mode": ("出行方式", "交通方式", "mode"),
}
INSPECTOR_HEADERS: dict[str, tuple[str, ...]] = {
    "inspector_id": ("人员编号", "编号", "inspector_id", "id"),
    "name": ("姓名", "name"),
    "department": ("单位", "部门", "所属部门", "department"),
    "law_cert": ("执法证", "执法资格", "有执法证", "law_cert"),
    "home_community": ("居住社区", "住址社区", "home_community"),
    "responsible_communities": ("包保社区", "负责社区", "responsible_communities"),
}
MODE_WORDS = {
    "walk": ("walk", "步行", "徒步"),
    "ebike": ("ebike", "e-bike", "电动车", "电瓶车", "电单车"),
    "car": ("car", "汽车", "驾车", "公务车", "车"),
}
YES = {"是", "有", "yes", "y", "true", "1"}
NO = {"否", "无", "no", "n", "false", "0", ""}
TEAM_COLUMNS = ["team_id", "name", "base_lon", "base_lat", "mode"]
INSPECTOR_COLUMNS = ["inspector_id", "name", "department", "law_cert", "home_community", "responsible_communities"]
MAX_ATTEMPTS = 500


def _raise_all(path: Path | str, problems: list[str]) -> None:
    if problems:
        raise problems_error(path, problems, outcome="nothing was used", limit=30)


def _unique_id(row: object, field: str, value: str, seen: set[str], problems: list[str]) -> bool:
    """Note an empty or repeated id in ``problems``; ``False`` if the row has no id at all."""
    if not value:
        problems.append(f"第 {row} 行「{field}」为空 / row {row}, {field}: empty")
        return False
    if value in seen:
        problems.append(f"第 {row} 行「{field}」{value} 重复，编号须唯一 / row {row}, {field}: {value} appears twice; "
                        "ids must be unique")
    seen.add(value)
    return True


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as stripped text (an edited table holds numbers and booleans too)."""
    out = frame.copy()
    for column in out.columns:
        out[column] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else
                       ("是" if v is True else "否" if v is False else str(v).strip()) for v in out[column]]
    return out


def parse_mode(value: str) -> str | None:
    """``walk``, ``ebike`` or ``car`` for a mode written in English or Chinese; else ``None``."""
    text = str(value).strip().lower()
    for mode, words in MODE_WORDS.items():
        if text in words:
            return mode
    return None


def read_teams(path: str | Path, ws: Store) -> pd.DataFrame:
    """Read and check a teams file; every problem is named with its row and field."""
    table = read_table(path, TEAM_HEADERS, required=tuple(TEAM_COLUMNS))
    return check_teams(table.frame, ws, path)


def check_teams(frame: pd.DataFrame, ws: Store, source: str | Path = "表格") -> pd.DataFrame:
    """Check teams (columns :data:`TEAM_COLUMNS`, text); every problem is named with its row and field."""
    frame = _as_text(frame)
    path = source
    county = ws.read("county").geometry.union_all().buffer(0.05)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for row, rec in frame.iterrows():
        team_id = rec["team_id"]
        if not _unique_id(row, "team_id", team_id, seen, problems):
            continue
        mode = parse_mode(rec["mode"])
        if mode is None:
            problems.append(f"第 {row} 行「出行方式」{rec['mode']!r} 应为 步行/电动车/汽车 / "
                            f"row {row}, mode: {rec['mode']!r} is not one of {', '.join(MODES)} (步行/电动车/汽车)")
        lon, lat = pd.to_numeric(rec["base_lon"], errors="coerce"), pd.to_numeric(rec["base_lat"], errors="coerce")
        if pd.isna(lon) or pd.isna(lat):
            problems.append(f"第 {row} 行「驻地经度/纬度」不是数字 / "
                            f"row {row}, base_lon/base_lat: {rec['base_lon']!r}, {rec['base_lat']!r} are not numbers")
        elif not shapely.contains_xy(county, float(lon), float(lat)):
            hint = (
                " (longitude and latitude look swapped)" if shapely.contains_xy(county, float(lat), float(lon)) else ""
            )
            problems.append(
                f"第 {row} 行驻地 ({lon}, {lat}) 不在本县区{'（经纬度似乎写反了）' if hint else ''}，请填WGS84经纬度 / "
                f"row {row}, base_lon/base_lat: ({lon}, {lat}) is outside the county{hint}; give WGS84 "
                "degrees of the team's base"
            )
        rows.append(
            {"team_id": team_id, "name": rec["name"] or team_id, "base_lon": lon, "base_lat": lat, "mode": mode}
        )
    _raise_all(path, problems)
    if not rows:
        raise InputError(f"{path}: no teams in the file.")
    return pd.DataFrame(rows, columns=TEAM_COLUMNS)


def community_resolver(ws: Store):
    """A function mapping a community code or name (full, OSM or short) to its code, or ``None``."""
    communities = ws.read("communities")
    exact: dict[str, str] = {}
    for rec in communities.itertuples():
        for name in (rec.code, rec.name, getattr(rec, "osm_name", None)):
            if isinstance(name, str) and name:
                exact[name] = rec.code

    def resolve(text: str) -> str | None:
        text = str(text).strip()
        if text in exact:
            return exact[text]
        hits = {code for name, code in exact.items() if len(text) >= 2 and (text in name or name in text)}
        return hits.pop() if len(hits) == 1 else None

    return resolve


def read_inspectors(path: str | Path, ws: Store) -> pd.DataFrame:
    """Read and check an inspectors file; communities are resolved to codes."""
    required = ("inspector_id", "name", "department", "law_cert", "home_community")
    table = read_table(path, INSPECTOR_HEADERS, required=required)
    return check_inspectors(table.frame, ws, path)


def check_inspectors(frame: pd.DataFrame, ws: Store, source: str | Path = "表格") -> pd.DataFrame:
    """Check inspectors (columns :data:`INSPECTOR_COLUMNS`, text); communities are resolved to codes."""
    frame = _as_text(frame)
    path = source
    resolve = community_resolver(ws)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for row, rec in frame.iterrows():
        pid = rec["inspector_id"]
        if not _unique_id(row, "inspector_id", pid, seen, problems):
            continue
        if not rec["department"]:
            problems.append(f"第 {row} 行「单位」为空，每名检查人员须属于一个部门 / "
                            f"row {row}, department: empty; every inspector belongs to a department")
        cert = str(rec["law_cert"]).strip().lower()
        if cert not in YES | NO:
            problems.append(f"第 {row} 行「执法证」{rec['law_cert']!r} 应为 是/否 / "
                            f"row {row}, law_cert: {rec['law_cert']!r} is not 是/否 or yes/no")
        home = ""
        if rec["home_community"]:
            home = resolve(rec["home_community"]) or ""
            if not home:
                problems.append(
                    f"第 {row} 行「居住社区」{rec['home_community']!r} 不是本县区的社区，"
                    "请填代码或名称（住在县外的留空） / "
                    f"row {row}, home_community: {rec['home_community']!r} is not a community of this "
                    "county; give its code or name (leave empty for someone living elsewhere)"
                )
        duties = []
        for part in str(rec.get("responsible_communities", "") or "").replace("；", ";").split(";"):
            if part.strip():
                code = resolve(part)
                if code is None:
                    problems.append(f"第 {row} 行「包保社区」{part.strip()!r} 不是本县区的社区 / "
                                    f"row {row}, responsible_communities: {part.strip()!r} is not a community here")
                else:
                    duties.append(code)
        rows.append(
            {
                "inspector_id": pid,
                "name": rec["name"],
                "department": rec["department"],
                "law_cert": cert in YES,
                "home_community": home,
                "responsible_communities": ";".join(duties),
            }
        )
    _raise_all(path, problems)
    if not rows:
        raise InputError(f"{path}: no inspectors in the file.")
    return pd.DataFrame(rows, columns=INSPECTOR_COLUMNS)


def workspace_teams(ws: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The workspace's own teams and inspectors (layers ``teams`` and ``inspectors``)."""
    if not (ws.has_layer("teams") and ws.has_layer("inspectors")):
        raise InputError(
            f"{ws.label} has no teams or inspectors; pass --teams and --inspectors files "
            "or add demonstration ones with `patrol demo-teams`."
        )
    teams = pd.DataFrame(ws.read("teams")).drop(columns="geometry", errors="ignore")
    people = pd.DataFrame(ws.read("inspectors"))
    teams = teams[in_use(teams)].reset_index(drop=True)[TEAM_COLUMNS]  # deactivated ones stay on file
    people = people[in_use(people)].reset_index(drop=True)
    people["law_cert"] = people["law_cert"].astype(str).str.lower().isin(YES)
    people = people.fillna("")
    return teams, people[INSPECTOR_COLUMNS]


def in_use(frame: pd.DataFrame) -> pd.Series:
    """Which rows are in use (``active`` not 否/no; every row when the column is absent)."""
    if "active" not in frame.columns:
        return pd.Series(True, index=frame.index)
    return ~frame["active"].fillna("yes").astype(str).str.strip().str.lower().isin(NO - {""})


def rule_problems(teams: pd.DataFrame, inspectors: pd.DataFrame, rules: TeamSettings) -> list[str]:
    """What stops the draw (双随机) from making the teams, in Chinese, as a planner edits the lists."""
    n, people = len(teams), len(inspectors)
    problems = []
    if n == 0:
        return ["没有在用的检查组。"]
    certified = int(inspectors["law_cert"].astype(bool).sum()) if people else 0
    departments = inspectors["department"].nunique() if people else 0
    if people < 2 * n:
        problems.append(f"只有 {people} 名在用检查人员，{n} 个联合检查组每组至少 2 人。")
    if certified < rules.min_law_cert * n:
        problems.append(f"只有 {certified} 人持执法证，{n} 个检查组需要 {rules.min_law_cert * n} 人"
                        f"（每组 {rules.min_law_cert} 人）；请增加持证人员或减少检查组。")
    if departments < rules.min_departments:
        problems.append(f"检查人员只来自 {departments} 个部门，联合检查每组至少 {rules.min_departments} 个部门。")
    if people < rules.size * n:
        problems.append(f"{people} 人不够 {n} 组每组 {rules.size} 人，抽签时部分组人数不足 {rules.size} 人。")
    return problems


def save_teams(ws: Store, teams: pd.DataFrame, inspectors: pd.DataFrame, *, actor: Any,
               active_teams: Sequence[bool] | None = None, active_people: Sequence[bool] | None = None) -> None:
    """Write the checked lists (with who is in use) to the workspace in one audited transaction."""
    from access.roles import Permission, authorize

    by = authorize(actor, Permission.EDIT_DATA)
    layers = teams_layers(teams, inspectors)
    layers["teams"]["active"] = ["yes" if a else "no" for a in (active_teams or [True] * len(teams))]
    layers["inspectors"]["active"] = ["yes" if a else "no" for a in (active_people or [True] * len(inspectors))]
    detail = f"{len(teams)} teams, {len(inspectors)} inspectors"
    with ws.transaction(actor=by, action="edit-teams", detail=detail) as tx:
        for name, frame in layers.items():
            tx.replace(name, frame)


DEPARTMENTS = ("教育局", "市场监管局", "公安局", "消防救援大队", "文广新旅局", "街道办事处")


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一, 105 → 一百零五 (below 10,000; Arabic digits beyond)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 10_000:
        return str(n)
    if n < 20:
        return ("十" if n >= 10 else "") + (digits[n % 10] if n % 10 or n < 10 else "")
    parts: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            parts.append(("零" if zero and parts else "") + digits[d] + unit)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)


def demo_teams(
    ws: Store, *, n_teams: int = 4, n_inspectors: int = 16, seed: int = 2026
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invented teams (bases at buildings near where institutions are) and inspectors, labelled 演示数据."""
    rng = np.random.default_rng(seed)
    buildings = ws.read("buildings")
    metric = ws.meta()["metric_crs"]
    centres = buildings.to_crs(metric).geometry.centroid
    focus = (
        ws.read("institutions").to_crs(metric).geometry.union_all().centroid
        if ws.has_layer("institutions")
        else centres.union_all().centroid
    )
    order = np.argsort(centres.distance(focus).to_numpy())
    step = max(1, min(7, len(order) // max(n_teams, 1)))  # spread out; every team its own building while any
    picks = [int(order[(i * step) % len(order)]) for i in range(n_teams)]
    points = centres.iloc[picks].to_crs("EPSG:4326")
    modes = ["car", "ebike", "car", "ebike", "walk"]
    teams = pd.DataFrame(
        {
            "team_id": [f"T{i + 1}" for i in range(n_teams)],
            "name": [f"第{chinese_number(i + 1)}检查组" for i in range(n_teams)],
            "base_lon": points.x.round(6).to_numpy(),
            "base_lat": points.y.round(6).to_numpy(),
            "mode": [modes[i % len(modes)] for i in range(n_teams)],
        }
    )
    communities = ws.read("communities")["code"].tolist()
    people = demo_people([f"I{i + 1:02d}" for i in range(n_inspectors)], level="building", seed=seed + 7)
    departments = [DEPARTMENTS[i % len(DEPARTMENTS)] for i in range(n_inspectors)]
    law = [i % 3 == 0 or departments[i] in ("市场监管局", "公安局") for i in range(n_inspectors)]
    homes = rng.choice(communities, size=n_inspectors).tolist()
    duties = [homes[i] if departments[i] == "街道办事处" else "" for i in range(n_inspectors)]
    inspectors = pd.DataFrame(
        {
            "inspector_id": people["code"],
            "name": people["responsible_name"],
            "department": departments,
            "law_cert": law,
            "home_community": homes,
            "responsible_communities": duties,
        }
    )
    teams["source"] = DEMO_LABEL
    inspectors["source"] = DEMO_LABEL
    return teams, inspectors


def teams_layers(teams: pd.DataFrame, inspectors: pd.DataFrame) -> dict[str, Any]:
    """The ``teams`` (points at the bases) and ``inspectors`` layers to write to a workspace."""
    import geopandas as gpd

    base = gpd.GeoDataFrame(
        teams.copy(), geometry=gpd.points_from_xy(teams["base_lon"], teams["base_lat"]), crs="EPSG:4326"
    )
    people = inspectors.copy()
    people["law_cert"] = np.where(people["law_cert"].astype(bool), "yes", "no")
    return {"teams": base, "inspectors": people}


def pair_key(a: str, b: str) -> str:
    """A stable name for an unordered pair of inspectors."""
    return "|".join(sorted((a, b)))


def draw_teams(
    team_ids: list[str], inspectors: pd.DataFrame, seed: str, previous_pairs: set[str], rules: TeamSettings,
    *, must_enter: Collection[str] = (),
) -> dict[str, list[str]]:
    """Draw inspectors into teams at random under the rules (module doc); :class:`InputError` if impossible.

    ``must_enter`` are communities with mandatory work today: the first draw that leaves at least
    one team free to enter each of them (no member living there or responsible for it, 回避) is
    taken; if none of the tries does, the first draw that meets the rules (the plan then lists the
    visits no team may make, and why).
    """
    min_departments = rules.min_departments
    min_law = rules.min_law_cert
    n = len(team_ids)
    people = inspectors.set_index("inspector_id")
    law = [p for p in people.index if bool(people.at[p, "law_cert"])]
    if len(people) < 2 * n:
        raise InputError(
            f"{len(people)} inspectors cannot make {n} joint teams of at least two; add inspectors or plan fewer teams."
        )
    if len(law) < min_law * n:
        raise InputError(
            f"only {len(law)} inspectors hold a law-enforcement certificate (执法证); {n} teams need "
            f"{min_law * n}. Add certified inspectors or plan at most {len(law) // max(min_law, 1)} teams."
        )
    if people["department"].nunique() < min_departments:
        raise InputError(
            f"all inspectors come from {people['department'].nunique()} department(s); joint teams "
            f"need {min_departments}."
        )
    size = max(2, min(rules.size, len(people) // n))
    avoids = {p: set(avoided_communities([p], inspectors)) for p in people.index} if must_enter else {}
    # a community fewer than a team's worth of inspectors are free to enter cannot be kept open: skip it
    must_enter = {c for c in must_enter if sum(c not in a for a in avoids.values()) >= size}

    def blocked(draw: dict[str, list[str]]) -> bool:
        """Whether some community with mandatory work has every team kept out of it."""
        if not must_enter:
            return False
        kept_out = [set().union(*(avoids[p] for p in m)) for m in draw.values()]
        return any(all(c in out for out in kept_out) for c in must_enter)

    fallback: dict[str, list[str]] | None = None
    for attempt in range(MAX_ATTEMPTS):
        order_teams = shuffled(seed, f"teams:{attempt}:teams", list(team_ids))
        certified = shuffled(seed, f"teams:{attempt}:law", law)
        anchors, rest = certified[: min_law * n], certified[min_law * n :]
        rest = shuffled(seed, f"teams:{attempt}:rest", rest + [p for p in people.index if p not in law])
        members: dict[str, list[str]] = {t: [] for t in order_teams}
        for i, person in enumerate(anchors):
            members[order_teams[i % n]].append(person)
        if any(pair_key(a, b) in previous_pairs for m in members.values() for a in m for b in m if a < b):
            continue
        for person in rest:
            fits = [
                t
                for t in order_teams
                if len(members[t]) < size and not any(pair_key(person, o) in previous_pairs for o in members[t])
            ]
            if fits:
                members[min(fits, key=lambda t: (len(members[t]), order_teams.index(t)))].append(person)
        if all(len(m) == size and people.loc[m, "department"].nunique() >= min_departments for m in members.values()):
            draw = {t: sorted(members[t]) for t in team_ids}
            if not blocked(draw):
                return draw
            fallback = fallback or draw
    if fallback:
        return fallback
    raise InputError(
        f"no draw of {len(people)} inspectors into {n} teams met the rules in {MAX_ATTEMPTS} tries "
        "(two departments and a certificate per team, no pair from the previous day); "
        "add inspectors from other departments or plan fewer teams."
    )


def team_pairs(assignment: dict[str, list[str]]) -> set[str]:
    """Every pair of inspectors who ride together under ``assignment``."""
    return {pair_key(a, b) for m in assignment.values() for i, a in enumerate(m) for b in m[i + 1 :]}


def avoided_communities(members: list[str], inspectors: pd.DataFrame) -> list[str]:
    """Communities a team may not inspect: where its members live or are responsible."""
    people = inspectors.set_index("inspector_id")
    codes: set[str] = set()
    for person in members:
        if people.at[person, "home_community"]:
            codes.add(str(people.at[person, "home_community"]))
        codes.update(c for c in str(people.at[person, "responsible_communities"] or "").split(";") if c)
    return sorted(codes)


def import_teams(ws: Store, *, teams_path: str | Path | None = None, inspectors_path: str | Path | None = None,
                 actor: Any) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Replace the workspace's team list, inspector list or both with checked files (the formats
    of the module doc), all in use, in one audited write; the list not given stays as it is.
    Returns the lists in force and what the draw's rules say of them (Chinese)."""
    from core.settings import load_patrol_settings

    if teams_path is None and inspectors_path is None:
        raise InputError("给出检查组文件或检查人员文件（或两者）。 / give a teams file, an inspectors file, or both.")
    teams = read_teams(teams_path, ws) if teams_path else None
    people = read_inspectors(inspectors_path, ws) if inspectors_path else None
    stored_teams = pd.DataFrame(ws.read("teams")).drop(columns="geometry") if ws.has_layer("teams") else None
    stored_people = pd.DataFrame(ws.read("inspectors")) if ws.has_layer("inspectors") else None
    if teams is None:
        if stored_teams is None:
            raise InputError(f"{ws.label} 还没有检查组，请同时给出检查组文件。 / {ws.label} has no teams yet; "
                             "give a teams file too.")
        active_teams = list(in_use(stored_teams))
        teams = stored_teams[TEAM_COLUMNS]
    else:
        active_teams = [True] * len(teams)
    if people is None:
        if stored_people is None:
            raise InputError(f"{ws.label} 还没有检查人员，请同时给出检查人员文件。 / {ws.label} has no inspectors yet; "
                             "give an inspectors file too.")
        active_people = list(in_use(stored_people))
        people = stored_people[INSPECTOR_COLUMNS].assign(
            law_cert=stored_people["law_cert"].astype(str).str.strip().str.lower().isin(YES))
    else:
        active_people = [True] * len(people)
    save_teams(ws, teams, people, actor=actor, active_teams=active_teams, active_people=active_people)
    kept_teams, kept_people = workspace_teams(ws)
    return kept_teams, kept_people, rule_problems(kept_teams, kept_people, load_patrol_settings(store=ws).teams)

"""Accounts (账号): kept in the workspace's ``accounts`` layer, passwords only as argon2id hashes.

The administrator adds, changes and disables accounts (in the app, or ``patrol user …``);
:func:`authenticate` checks a login, counts wrong passwords and locks the account for a while
after too many. Every change and every login, refused or not, is a row of the audit log.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from access.roles import ROLE_NAMES_ZH, Permission, Principal, Role, authorize
from core.clock import TIMEZONE
from core.errors import InputError, LoginError
from core.settings import AccessSettings, load_patrol_settings
from store import Store

ACCOUNTS_LAYER = "accounts"
USERNAME = re.compile(r"^[\w.\-]{2,32}$")
LOGIN_ROLES = (Role.ADMIN, Role.PLANNER, Role.TEAM_LEADER, Role.LEADER, Role.GRID_MEMBER, Role.VOLUNTEER)
FIELD_ROLES = (Role.GRID_MEMBER, Role.VOLUNTEER)
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))  # checked for unknown names, so they take as long as known ones
COLUMNS = ["username", "display_name", "role", "team_id", "inspector_id", "active", "password_hash",
           "failed_logins", "locked_until", "created_at", "created_by", "updated_at", "sso_identity",
           "password_changed_at", "cell_code"]


@dataclass(frozen=True)
class Account:
    """An account as the administrator sees it (never its password hash)."""

    username: str
    display_name: str
    role: Role
    team_id: str
    inspector_id: str
    active: bool
    locked_until: str
    created_at: str
    created_by: str
    cell_code: str = ""

    @property
    def principal(self) -> Principal:
        """The person this account logs in as."""
        return Principal(self.username, self.role, self.display_name, self.team_id, self.inspector_id,
                         self.cell_code)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE)


def _settings(ws: Store, settings: AccessSettings | None) -> AccessSettings:
    return settings or load_patrol_settings(store=ws).access


def _rows(ws: Store, username: str | None = None) -> pd.DataFrame:
    if not ws.has_layer(ACCOUNTS_LAYER):
        return pd.DataFrame(columns=COLUMNS)
    return ws.read(ACCOUNTS_LAYER, where={"username": username} if username is not None else None)


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)  # type: ignore[call-overload]


def _account(row: pd.Series) -> Account:
    return Account(str(row["username"]), _text(row["display_name"]), Role(str(row["role"])), _text(row["team_id"]),
                   _text(row["inspector_id"]), bool(row["active"]), _text(row["locked_until"]),
                   _text(row["created_at"]), _text(row["created_by"]), _text(row.get("cell_code", "")))


def has_accounts(ws: Store) -> bool:
    """Tell whether the workspace has any account yet (the first administrator is made at install)."""
    return ws.has_layer(ACCOUNTS_LAYER) and not ws.read(ACCOUNTS_LAYER, columns=["username"]).empty


def list_accounts(ws: Store, *, actor: Principal | str) -> list[Account]:
    """Every account, in name order (administrators only)."""
    authorize(actor, Permission.MANAGE_ACCOUNTS)
    return [_account(r) for _, r in _rows(ws).sort_values("username").iterrows()]


def check_password(password: str, username: str, settings: AccessSettings) -> None:
    """Refuse a password that is too short or is the user name; :class:`InputError` says which."""
    if len(password) < settings.min_password_length:
        raise InputError(f"密码至少 {settings.min_password_length} 个字符。 / The password needs at least "
                         f"{settings.min_password_length} characters.")
    if password.strip().lower() == username.lower():
        raise InputError("密码不能与用户名相同。 / The password must not be the user name.")


def add_account(ws: Store, *, username: str, password: str, role: Role | str, actor: Principal | str,
                display_name: str = "", team_id: str = "", inspector_id: str = "", sso_identity: str = "",
                cell_code: str = "", settings: AccessSettings | None = None) -> Account:
    """Add an account; :class:`InputError` names what is wrong (name taken, weak password, no team).

    ``sso_identity`` is the e-mail (or subject) the bureau's identity provider gives this person,
    for single sign-on (``st.login``); the local password works as well.
    """
    by = authorize(actor, Permission.MANAGE_ACCOUNTS) if has_accounts(ws) else _first_admin(actor, role)
    username = username.strip()
    if not USERNAME.match(username):
        raise InputError(f"用户名 {username!r} 不可用：2–32 个字母、数字、汉字或 . _ -。 / "
                         f"User name {username!r}: use 2–32 letters, digits, Chinese characters or . _ -")
    try:
        role = Role(role)
    except ValueError as exc:
        roles = "、".join(f"{r.value}（{ROLE_NAMES_ZH[r]}）" for r in LOGIN_ROLES)
        raise InputError(f"角色 {role!r} 不存在；可选：{roles}。 / Unknown role {role!r}.") from exc
    if role not in LOGIN_ROLES:
        raise InputError(f"角色 {role.value} 不能登录。 / Role {role.value} cannot log in.")
    if role == Role.TEAM_LEADER and not (team_id or inspector_id):
        raise InputError("检查组组长须绑定一个检查组（--team）或一名检查人员（--inspector）。 / "
                         "A team leader is bound to a team (--team) or an inspector (--inspector).")
    if role in FIELD_ROLES:
        cell_code = cell_code.strip()
        if role == Role.GRID_MEMBER and not cell_code:
            raise InputError("网格员须绑定所负责的网格（社区或楼栋代码，--cell）。 / A grid member is bound to their "
                             "cell (a community or building code, --cell).")
        if cell_code and all(ws.read(level, where={"code": cell_code}, columns=["code"]).empty
                             for level in ("communities", "buildings")):
            raise InputError(f"网格 {cell_code} 不在本县区。 / cell {cell_code} is not a community or building here.")
    _check_binding(ws, team_id, inspector_id)
    check_password(password, username, _settings(ws, settings))
    stamp = _now(None).isoformat(timespec="seconds")
    row = pd.DataFrame([{"username": username, "display_name": display_name.strip() or username, "role": role.value,
                         "team_id": team_id if role == Role.TEAM_LEADER else "",
                         "inspector_id": inspector_id if role == Role.TEAM_LEADER else "", "active": True,
                         "password_hash": _HASHER.hash(password), "failed_logins": 0, "locked_until": "",
                         "created_at": stamp, "created_by": by, "updated_at": stamp,
                         "sso_identity": sso_identity.strip().lower(), "password_changed_at": stamp,
                         "cell_code": cell_code if role in FIELD_ROLES else ""}],
                       columns=COLUMNS)
    with ws.transaction(actor=by, action="account-add", detail=f"{username}: {role.value}") as tx:
        existing = tx.read(ACCOUNTS_LAYER) if tx.has_layer(ACCOUNTS_LAYER) else pd.DataFrame(columns=COLUMNS)
        if username in set(existing["username"]):
            raise InputError(f"用户名 {username} 已存在。 / The user name {username} is taken.")
        if sso_identity.strip() and sso_identity.strip().lower() in set(existing.get("sso_identity", pd.Series())):
            raise InputError(f"统一身份 {sso_identity} 已绑定其他账号。 / {sso_identity} belongs to another account.")
        tx.append(ACCOUNTS_LAYER, row)
    return _account(row.iloc[0])


def _first_admin(actor: Principal | str, role: Role | str) -> str:
    """The first account of a workspace: made by the operator at install, and an administrator."""
    if isinstance(actor, Principal) and actor.role != Role.OPERATOR:
        raise InputError("the first account is made at the server: `patrol user add WORKSPACE NAME --role admin`.")
    if str(role) != Role.ADMIN.value:
        raise InputError("第一个账号必须是系统管理员（--role admin）。 / The first account must be an administrator "
                         "(--role admin).")
    return actor.username if isinstance(actor, Principal) else str(actor)


def _check_binding(ws: Store, team_id: str, inspector_id: str) -> None:
    for value, layer, column, what in ((team_id, "teams", "team_id", "检查组"),
                                       (inspector_id, "inspectors", "inspector_id", "检查人员")):
        if value and ws.has_layer(layer) and ws.read(layer, where={column: value}, columns=[column]).empty:
            raise InputError(f"{what} {value} 不在本工作区的名单中。 / {layer[:-1]} {value} is not in this workspace.")


def _update(ws: Store, username: str, by: str, action: str, detail: str, *, _keep_an_admin: bool = False,
            **values: object) -> None:
    with ws.transaction(actor=by, action=action, detail=f"{username}: {detail}") as tx:
        rows = tx.read(ACCOUNTS_LAYER, where={"username": username}) if tx.has_layer(ACCOUNTS_LAYER) else None
        if rows is None or rows.empty:
            raise InputError(f"账号 {username} 不存在。 / There is no account {username}.")
        if _keep_an_admin:  # checked inside the transaction: two administrators cannot disable each other at once
            admins = tx.read(ACCOUNTS_LAYER, where={"role": Role.ADMIN.value, "active": True}, columns=["username"])
            if list(admins["username"]) == [username]:
                raise InputError("不能停用最后一个系统管理员。 / The last active administrator cannot be disabled.")
        row = rows.iloc[[0]].copy()
        for column, value in {**values, "updated_at": _now(None).isoformat(timespec="seconds")}.items():
            row[column] = value
        tx.upsert(ACCOUNTS_LAYER, row, key="username")


def set_password(ws: Store, username: str, password: str, *, actor: Principal | str,
                 settings: AccessSettings | None = None) -> None:
    """Set an account's password (the administrator's, or the person's own); unlocks it."""
    own = isinstance(actor, Principal) and actor.username == username and actor.role != Role.OPERATOR
    by = actor.username if own and isinstance(actor, Principal) else authorize(actor, Permission.MANAGE_ACCOUNTS)
    check_password(password, username, _settings(ws, settings))
    _update(ws, username, by, "account-password", "password changed", password_hash=_HASHER.hash(password),
            failed_logins=0, locked_until="", password_changed_at=_now(None).isoformat(timespec="microseconds"))


def set_active(ws: Store, username: str, active: bool, *, actor: Principal | str) -> None:
    """Enable or disable an account; the last active administrator cannot be disabled."""
    by = authorize(actor, Permission.MANAGE_ACCOUNTS)
    _update(ws, username, by, "account-enable" if active else "account-disable",
            "enabled" if active else "disabled", active=active, failed_logins=0, locked_until="",
            _keep_an_admin=not active)


def authenticate(ws: Store, username: str, password: str, *, now: datetime | None = None,
                 settings: AccessSettings | None = None) -> Principal:
    """The person a login names, if the password is right; :class:`LoginError` otherwise.

    A wrong password counts; after ``lockout_attempts`` in a row the account is locked for
    ``lockout_minutes`` (a locked account refuses even the right password until then). The
    password is checked first (every attempt takes as long), then the count is read and written
    in one transaction, so attempts at once each count. A disabled account says so only to the
    right password.
    """
    rules, moment = _settings(ws, settings), _now(now)
    username = username.strip()
    rows = _rows(ws, username) if USERNAME.match(username) else pd.DataFrame(columns=COLUMNS)
    if rows.empty:
        _verify(_DUMMY_HASH, password)
        shown = username if USERNAME.match(username) else "?"
        ws.record_event(actor=shown, action="login-failed", detail="unknown user name")
        raise LoginError("用户名或密码不正确。 / Wrong user name or password.", reason="wrong")
    right = _verify(str(rows["password_hash"].iloc[0]), password)
    refusal: LoginError | None = None
    with ws.transaction(actor=username, action="login-failed") as tx:
        row = tx.read(ACCOUNTS_LAYER, where={"username": username}).iloc[[0]].copy()
        locked = _text(row["locked_until"].iloc[0])
        values: dict[str, object] = {}
        if locked and datetime.fromisoformat(locked) > moment:
            tx.detail = f"{username}: locked until {locked}"
            refusal = LoginError(f"密码错误次数过多，账号锁定至 {locked[11:16]}。 / Locked until {locked[11:16]}.",
                                 reason="locked", until=locked)
        elif not right:
            failed = int(row["failed_logins"].iloc[0] or 0) + 1
            lock = failed >= rules.lockout_attempts
            until = (moment + timedelta(minutes=rules.lockout_minutes)).isoformat(timespec="seconds") if lock else ""
            values = {"failed_logins": 0 if lock else failed, "locked_until": until}
            tx.detail = f"{username}: wrong password ({failed})" + (f", locked until {until}" if lock else "")
            refusal = (LoginError(f"密码错误次数过多，账号锁定至 {until[11:16]}。 / Locked until {until[11:16]}.",
                                  reason="locked", until=until) if lock
                       else LoginError("用户名或密码不正确。 / Wrong user name or password.", reason="wrong"))
        elif not bool(row["active"].iloc[0]):
            tx.detail = f"{username}: account disabled"
            refusal = LoginError("此账号已停用，请联系系统管理员。 / This account is disabled.", reason="disabled")
        else:
            tx.action, tx.detail = "login", f"{username}: logged in"
            values = {"failed_logins": 0, "locked_until": ""}
            if _HASHER.check_needs_rehash(str(row["password_hash"].iloc[0])):
                values["password_hash"] = _HASHER.hash(password)
        for column, value in values.items():
            row[column] = value
        if values:
            tx.upsert(ACCOUNTS_LAYER, row.assign(updated_at=moment.isoformat(timespec="seconds")), key="username")
        tx.note()
    if refusal is not None:
        raise refusal
    return _account(row.iloc[0]).principal


def authenticate_identity(ws: Store, identity: str) -> Principal:
    """The person whose account holds ``identity`` from the bureau's identity provider (single sign-on).

    The provider has checked who it is; a disabled account is still refused, and an identity no
    account holds is refused (the administrator binds it: ``patrol user add … --sso EMAIL``).
    """
    identity = str(identity or "").strip().lower()
    rows = _rows(ws)
    held = rows["sso_identity"].fillna("").astype(str).str.lower() == identity if "sso_identity" in rows else None
    rows = rows[held] if identity and held is not None else rows.iloc[0:0]
    if rows.empty:
        ws.record_event(actor=identity or "?", action="login-failed", detail="single sign-on: no account holds it")
        raise LoginError(f"统一身份 {identity} 没有绑定本系统的账号，请联系系统管理员。 / No account holds {identity}.",
                         reason="no_identity")
    row = rows.iloc[0]
    if not bool(row["active"]):
        ws.record_event(actor=str(row["username"]), action="login-failed", detail="single sign-on: disabled")
        raise LoginError("此账号已停用，请联系系统管理员。 / This account is disabled.", reason="disabled")
    _update(ws, str(row["username"]), str(row["username"]), "login", f"single sign-on as {identity}")
    return _account(row).principal


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def password_stamp(ws: Store, username: str) -> str | None:
    """When the account's password last changed ("" if never recorded), or ``None`` if the account is
    gone or disabled: a session opened before a change or a disabling ends at its next step."""
    rows = _rows(ws, username)
    if rows.empty or not bool(rows["active"].iloc[0]):
        return None
    return _text(rows["password_changed_at"].iloc[0]) if "password_changed_at" in rows else ""


def session_expired(started: datetime, last_seen: datetime, *, now: datetime | None = None,
                    settings: AccessSettings) -> bool:
    """Tell whether a login session has ended: idle too long, or open too long in all."""
    moment = _now(now)
    return (moment - last_seen > timedelta(minutes=settings.session_idle_minutes)
            or moment - started > timedelta(hours=settings.session_max_hours))


DEMO_ACCOUNTS = (("demo_admin", Role.ADMIN, "演示管理员", ""), ("demo_planner", Role.PLANNER, "演示计划员", ""),
                 ("demo_leader", Role.LEADER, "演示局领导", ""))


def create_demo_accounts(ws: Store, *, actor: str) -> dict[str, str]:
    """Demonstration accounts (演示) with fresh random passwords, for a sample workspace without accounts.

    One team leader per team of the workspace joins the administrator, planner and leader.
    Returns user name → password (to print once); an empty dict if the workspace has accounts.
    """
    if has_accounts(ws):
        return {}
    people = list(DEMO_ACCOUNTS)
    if ws.has_layer("teams"):
        for team in ws.read("teams", columns=["team_id", "name"]).itertuples():
            people.append((f"demo_{str(team.team_id).lower()}", Role.TEAM_LEADER, f"演示组长（{team.name}）",
                           str(team.team_id)))
    passwords = {}
    for username, role, name, team in people:
        password = secrets.token_urlsafe(9)
        add_account(ws, username=username, password=password, role=role, display_name=name, team_id=team,
                    actor=actor if role == Role.ADMIN else Principal.operator(actor))
        passwords[username] = password
    return passwords

"""Logins in the app: the login form, the session's person, its expiry, and the demo accounts.

The rules (passwords, lock-out, roles, what a role may open) live in :mod:`access`; this module
only keeps the logged-in :class:`~access.roles.Principal` in the browser session (server-side
Session State, never a cookie the browser could edit) and ends it when it expires.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from access.accounts import (
    authenticate,
    authenticate_identity,
    create_demo_accounts,
    has_accounts,
    password_stamp,
    session_expired,
)
from access.roles import Principal
from core.clock import TIMEZONE
from core.errors import LoginError
from core.settings import load_patrol_settings
from i18n import plain, t
from store import open_store
from store.home import is_shipped, patrol_home, shipped_workspaces

DEMO_FILE = "demo-accounts.txt"


@dataclass(frozen=True)
class Login:
    """Who is logged in to which workspace, and since when."""

    principal: Principal
    workspace: str
    started: datetime
    password_stamp: str = ""  # the account's password change time at login: a later change ends the session


def demo_accounts_file() -> Path:
    """Where the demo accounts' passwords are written at first start (readable by the owner only)."""
    return patrol_home() / DEMO_FILE


@st.cache_resource(show_spinner=False)
def _ensure_demo_accounts(home: str, workspaces: tuple[str, ...]) -> None:
    samples = {p.name for p in shipped_workspaces()}
    lines = []
    for location in workspaces:
        path = Path(location)
        if path.name not in samples or is_shipped(path):  # only the user's copies of the shipped samples
            continue
        ws = open_store(location)
        passwords = create_demo_accounts(ws, actor="first-start")
        for username, password in passwords.items():
            lines.append(f"{path.stem}\t{username}\t{password}")
    if not lines:
        return
    text = "".join(f"{line}\n" for line in lines)
    target = Path(home) / DEMO_FILE
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as out:
        out.write(text)
    target.chmod(0o600)  # also a file that existed before
    print(f"演示账号（demo accounts, 演示）已创建，密码保存在 {target}：\n{text}", flush=True)


def ensure_demo_accounts(workspaces: list[str]) -> None:
    """Give each copy of a shipped sample without accounts its demo accounts (演示), once."""
    _ensure_demo_accounts(str(patrol_home()), tuple(workspaces))


def _now() -> datetime:
    return datetime.now(TIMEZONE)


def sso_configured() -> bool:
    """Tell whether the bureau set up single sign-on (an ``[auth]`` section in ``.streamlit/secrets.toml``)."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def _sso_login(workspace: str) -> Login | None:
    """The login of a person the identity provider vouches for (``st.user``), mapped to their account."""
    if not sso_configured() or not st.user.is_logged_in:
        return None
    identity = str(st.user.get("email") or "")
    if not identity or st.user.get("email_verified") is False:  # only a verified e-mail binds to an account
        st.error(t("login_no_identity").format(identity=plain(identity or "?")))
        st.button(t("logout"), on_click=st.logout, key="sso_logout")
        return None
    try:
        principal = authenticate_identity(open_store(workspace), identity)
    except LoginError as exc:
        st.error(t(f"login_{exc.reason}").format(until="", identity=plain(identity)))
        st.button(t("logout"), on_click=st.logout, key="sso_logout")
        return None
    login = Login(principal, workspace, _now(), password_stamp(open_store(workspace), principal.username) or "")
    st.session_state["login"] = login
    st.session_state["workspace"] = workspace
    return login


def current_login(workspaces: list[str] | None = None) -> Login | None:
    """The session's login, or ``None`` (also when it expired: the page then says so).

    With single sign-on, a person the identity provider vouches for is logged in to the first
    workspace (a bureau server names it in ``$PATROL_WORKSPACE``).
    """
    login: Login | None = st.session_state.get("login")
    if login is None:
        return _sso_login(workspaces[0]) if workspaces else None
    ws = open_store(login.workspace)
    rules = load_patrol_settings(store=ws).access
    last_seen = st.session_state.get("login_seen", login.started)
    if session_expired(login.started, last_seen, settings=rules) or password_stamp(
            ws, login.principal.username) != login.password_stamp:  # expired, disabled, or password changed
        logout(expired=True)
        return None
    st.session_state["login_seen"] = _now()
    return login


def logout(*, expired: bool = False) -> None:
    """End the session's login and forget everything it opened."""
    for key in list(st.session_state):
        if key not in ("lang",):
            del st.session_state[key]
    if sso_configured() and st.user.is_logged_in:
        st.logout()
    if expired:
        st.session_state["login_expired"] = True


def login_page(choices: list[str], title) -> None:
    """The login form: workspace (county), user name, password."""
    st.header(t("login_header"))
    if st.session_state.pop("login_expired", False):
        st.warning(t("login_expired"))
    with st.form("login_form"):
        workspace = st.selectbox(t("workspace"), choices, format_func=title, key="login_workspace")
        username = st.text_input(t("login_user"), key="login_user")
        password = st.text_input(t("login_password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("login_button"), type="primary")
    if submitted:
        ws = open_store(workspace)
        if not has_accounts(ws):
            st.error(t("login_no_accounts").format(workspace=plain(title(workspace))))
            return
        try:
            principal = authenticate(ws, username, password)
        except LoginError as exc:
            st.error(t(f"login_{exc.reason}").format(until=exc.until[11:16]))
            return
        st.session_state["login"] = Login(principal, str(workspace), _now(),
                                          password_stamp(ws, principal.username) or "")
        st.session_state["workspace"] = str(workspace)
        st.session_state.pop("login_password", None)
        st.rerun()
    if sso_configured():
        st.button(t("login_sso"), on_click=st.login, key="login_sso", icon=":material/badge:")
    if demo_accounts_file().is_file():
        st.caption(t("login_demo_hint").format(path=plain(demo_accounts_file())))
    st.caption(t("login_first_admin"))

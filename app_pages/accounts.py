"""Accounts page (账号管理, administrators): list, add, reset a password, disable or enable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from access.accounts import LOGIN_ROLES, add_account, list_accounts, set_active, set_password
from app_cache import current_actor, load_optional
from core.errors import InputError
from i18n import plain, t
from store import open_store


def _table(path: str) -> list[str]:
    accounts = list_accounts(open_store(path), actor=current_actor())
    st.dataframe(pd.DataFrame({
        t("col_username"): [a.username for a in accounts],
        t("accounts_name"): [a.display_name for a in accounts],
        t("accounts_role"): [t(f"role_{a.role.value}") for a in accounts],
        t("col_bound"): [a.team_id or a.inspector_id for a in accounts],
        t("col_active"): [a.active for a in accounts],
        t("col_locked_until"): [a.locked_until[:16].replace("T", " ") for a in accounts],
    }), hide_index=True, width="stretch")
    return [a.username for a in accounts]


def _add(path: str) -> None:
    teams = load_optional(path, "teams")
    people = load_optional(path, "inspectors")
    none = [""]
    with st.form("account_add", clear_on_submit=True):
        st.subheader(t("accounts_add"))
        c1, c2 = st.columns(2)
        username = c1.text_input(t("col_username"), key="acc_username")
        name = c2.text_input(t("accounts_name"), key="acc_name")
        role = st.radio(t("accounts_role"), [r.value for r in LOGIN_ROLES], format_func=lambda r: t(f"role_{r}"),
                        horizontal=True, key="acc_role")
        c3, c4 = st.columns(2)
        team = c3.selectbox(t("accounts_team"), none + ([] if teams is None else list(teams["team_id"])),
                            format_func=lambda v: v or t("accounts_none"), key="acc_team")
        inspector = c4.selectbox(t("accounts_inspector"),
                                 none + ([] if people is None else list(people["inspector_id"])),
                                 format_func=lambda v: v or t("accounts_none"), key="acc_inspector")
        cell = st.text_input(t("accounts_cell"), key="acc_cell", max_chars=20)
        c5, c6 = st.columns(2)
        password = c5.text_input(t("login_password"), type="password", key="acc_password")
        again = c6.text_input(t("accounts_password_again"), type="password", key="acc_password_again")
        submitted = st.form_submit_button(t("accounts_add"), type="primary")
    if not submitted:
        return
    if password != again:
        st.error(t("accounts_passwords_differ"))
        return
    try:
        account = add_account(open_store(path), username=username, password=password, role=role,
                              display_name=name, team_id=team, inspector_id=inspector, cell_code=cell,
                              actor=current_actor())
    except InputError as exc:
        st.error(plain(exc))
        return
    st.session_state["accounts_message"] = t("accounts_added").format(username=account.username)
    st.rerun()


def _manage(path: str, usernames: list[str]) -> None:
    st.subheader(t("accounts_manage"))
    username = st.selectbox(t("accounts_pick"), usernames, key="acc_pick")
    password = st.text_input(t("accounts_reset"), type="password", key="acc_reset_password")
    c1, c2, c3 = st.columns(3)
    try:
        if c1.button(t("accounts_reset"), key="acc_reset") and username:
            set_password(open_store(path), username, password, actor=current_actor())
        elif c2.button(t("accounts_disable"), key="acc_disable") and username:
            set_active(open_store(path), username, False, actor=current_actor())
        elif c3.button(t("accounts_enable"), key="acc_enable") and username:
            set_active(open_store(path), username, True, actor=current_actor())
        else:
            return
    except InputError as exc:
        st.error(plain(exc))
        return
    st.session_state["accounts_message"] = t("accounts_done").format(username=username)
    st.rerun()


def render() -> None:
    """Render the accounts page."""
    path = str(st.session_state["workspace"])
    st.header(t("accounts_header"))
    if message := st.session_state.pop("accounts_message", None):
        st.success(plain(message))
    usernames = _table(path)
    _add(path)
    _manage(path, usernames)

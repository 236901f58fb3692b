"""Streamlit entry point: page config, language, login, and the pages the person's role may open.

Pages live in ``app_pages/`` as modules with a ``render()`` function; ``views/`` holds the thin
scripts ``st.navigation`` runs. Which pages a role sees is asked of the library
(:meth:`access.roles.Principal.allows`); each service checks the same rule again when called.
"""

from __future__ import annotations

import logging

import streamlit as st

from access.roles import Permission, Role
from app_auth import current_login, ensure_demo_accounts, login_page, logout
from app_cache import workspace_choices, workspace_title
from core.errors import InputError, PermissionDeniedError, StoreError, WorkspaceError
from i18n import LANGUAGES, plain, t

#: page key → (script, icon, the permissions any one of which opens it)
PAGES: dict[str, tuple[str, str, tuple[Permission, ...]]] = {
    "leaders_page": ("views/leaders.py", ":material/monitoring:", (Permission.VIEW_REPORTS,)),
    "team_page": ("views/team.py", ":material/route:", (Permission.RECORD_RESULTS, Permission.VIEW_PLANS)),
    "plan_page": ("views/planning.py", ":material/event:", (Permission.PLAN,)),
    "areas_page": ("views/areas.py", ":material/map:", (Permission.PLAN,)),
    "rounds_page": ("views/rounds.py", ":material/event_repeat:", (Permission.PLAN,)),
    "teams_page": ("views/teams.py", ":material/groups:", (Permission.EDIT_DATA,)),
    "field_page": ("views/field.py", ":material/add_location_alt:", (Permission.REPORT_FIELD,)),
    "grid_page": ("views/grid.py", ":material/grid_on:", (Permission.VIEW_DATA,)),
    "layers_page": ("views/layers.py", ":material/layers:", (Permission.VIEW_LAYERS,)),
    "case_page": ("views/casework.py", ":material/fact_check:", (Permission.VIEW_LAYERS,)),
    "import_page": ("views/imports.py", ":material/upload_file:", (Permission.EDIT_DATA,)),
    "oversight_page": ("views/oversight.py", ":material/policy:", (Permission.READ_AUDIT, Permission.PUBLISH)),
    "accounts_page": ("views/accounts.py", ":material/manage_accounts:", (Permission.MANAGE_ACCOUNTS,)),
}
PUBLIC_PAGE = ("views/public.py", ":material/public:")
#: the page each role lands on after logging in
HOME_PAGE = {Role.TEAM_LEADER: "team_page", Role.PLANNER: "plan_page", Role.LEADER: "leaders_page",
             Role.ADMIN: "accounts_page", Role.GRID_MEMBER: "field_page", Role.VOLUNTEER: "field_page"}

st.set_page_config(page_title="双减网格巡查", page_icon="🗺️", layout="wide")

with st.sidebar:
    st.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)

choices = workspace_choices()
ensure_demo_accounts(choices)
login = current_login(choices)
if login is not None:
    person = login.principal
    allowed = [key for key, (_, _, needs) in PAGES.items() if any(person.allows(p) for p in needs)]
    home = HOME_PAGE.get(person.role, allowed[0])
    pages = [st.Page(PAGES[key][0], title=t(key), icon=PAGES[key][1], url_path=key.removesuffix("_page"),
                     default=key == home) for key in allowed]
    pages.append(st.Page(PUBLIC_PAGE[0], title=t("public_page"), icon=PUBLIC_PAGE[1], url_path="public"))
    with st.sidebar:
        role = t(f"role_{person.role.value}")
        st.caption(t("logged_in_as").format(name=plain(person.display_name or person.username), role=role,
                                            workspace=plain(workspace_title(login.workspace))))
        if st.button(t("logout"), key="logout"):
            logout()
            st.rerun()
else:
    pages = [st.Page(lambda: login_page(choices, workspace_title), title=t("login_page"), icon=":material/login:",
                     url_path="login", default=True),
             st.Page(PUBLIC_PAGE[0], title=t("public_page"), icon=PUBLIC_PAGE[1], url_path="public")]
page = st.navigation(pages)
with st.sidebar:
    st.caption(t("demo_notice"))
    st.caption(t("attribution"))

st.title(t("app_title"))
if not choices:
    st.error(t("no_workspace"))
    st.stop()
try:
    page.run()
except PermissionDeniedError as exc:
    st.error(plain(exc))
except StoreError as exc:  # the server's fault, not the user's: say so, log the details for the administrator
    logging.getLogger("patrol.app").exception("store failure on %s", page.title)
    st.error(t("store_failed").format(error=plain(exc)))
except WorkspaceError as exc:
    st.error(t("workspace_failed").format(error=plain(exc)))
except InputError as exc:  # a page that did not catch its own: still a sentence, never a traceback
    st.error(plain(exc))

"""Who may do what: the four roles, their permissions, and the person acting.

Every service that reads a secret or writes asks :func:`authorize` with the person acting (a
:class:`Principal`); pages only ask the same questions to decide what to show. A plain string as
the actor is the command line's operator at the server, who holds the workspace files anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import PermissionDeniedError


class Role(StrEnum):
    """A user's role (角色)."""

    ADMIN = "admin"  # 系统管理员: accounts, the audit log
    PLANNER = "planner"  # 计划编制人: grid, layers, imports, teams, plans
    TEAM_LEADER = "team_leader"  # 检查组组长: their own team's route once released, and its results
    LEADER = "leader"  # 局领导/专班: every figure, the register, the audit log, publication (一公开)
    GRID_MEMBER = "grid_member"  # 网格员: reports clues from the field and "nothing found today" for their cell
    VOLUNTEER = "volunteer"  # 志愿者 (e.g. a school's volunteers): reports clues from the field
    OPERATOR = "operator"  # the command line at the server (not a login)


class Permission(StrEnum):
    """What a service may be asked to do."""

    MANAGE_ACCOUNTS = "manage_accounts"
    EDIT_DATA = "edit_data"  # grid, layers, imports, confirmations, risk refresh, teams, settings
    PLAN = "plan"  # make, register and withdraw plans and rounds
    VIEW_PLANS = "view_plans"  # every team's route of every plan (views before release are audited)
    RECORD_RESULTS = "record_results"  # results of a team's stops
    READ_AUDIT = "read_audit"
    PUBLISH = "publish"  # 一公开: publish a plan's results, commitment and seed after its window
    VIEW_SEEDS = "view_seeds"  # a plan's seed, once its window has closed
    VIEW_DATA = "view_data"  # the grid and who is responsible where
    VIEW_LAYERS = "view_layers"  # institutions, clues (with their content), risk, cases
    VIEW_REPORTS = "view_reports"  # the leaders' figures, coverage and reports
    REPORT_FIELD = "report_field"  # file a clue from the field, and "nothing found today" (一排查一上报)
    FLYING_CHECK = "flying_check"  # 飞行检查: a plan for teams from another township, kept from its planners


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({Permission.MANAGE_ACCOUNTS, Permission.READ_AUDIT, Permission.VIEW_DATA}),
    Role.PLANNER: frozenset({Permission.EDIT_DATA, Permission.PLAN, Permission.VIEW_PLANS, Permission.RECORD_RESULTS,
                             Permission.VIEW_SEEDS, Permission.VIEW_DATA, Permission.VIEW_LAYERS,
                             Permission.VIEW_REPORTS}),
    Role.TEAM_LEADER: frozenset({Permission.RECORD_RESULTS, Permission.VIEW_DATA}),
    Role.LEADER: frozenset({Permission.VIEW_PLANS, Permission.READ_AUDIT, Permission.PUBLISH, Permission.VIEW_SEEDS,
                            Permission.VIEW_DATA, Permission.VIEW_LAYERS, Permission.VIEW_REPORTS,
                            Permission.FLYING_CHECK}),
    Role.GRID_MEMBER: frozenset({Permission.REPORT_FIELD}),
    Role.VOLUNTEER: frozenset({Permission.REPORT_FIELD}),
    Role.OPERATOR: frozenset(Permission),
}

ROLE_NAMES_ZH = {Role.ADMIN: "系统管理员", Role.PLANNER: "计划编制人", Role.TEAM_LEADER: "检查组组长",
                 Role.LEADER: "局领导", Role.GRID_MEMBER: "网格员", Role.VOLUNTEER: "志愿者",
                 Role.OPERATOR: "服务器操作员"}


@dataclass(frozen=True)
class Principal:
    """The person acting: a logged-in account, or the operator at the server's command line.

    A team leader is bound to a team (``team_id``) or to an inspector (``inspector_id``: the
    leader sees the route of whichever team that inspector is drawn into).
    """

    username: str
    role: Role
    display_name: str = ""
    team_id: str = ""
    inspector_id: str = ""
    cell_code: str = ""  # a grid member's own cell (a community or building code)

    @classmethod
    def operator(cls, name: str) -> Principal:
        """The command line's user at the server."""
        return cls(username=name, role=Role.OPERATOR, display_name=name)

    @property
    def audit_name(self) -> str:
        """How the audit log names this person."""
        return self.username

    def allows(self, permission: Permission) -> bool:
        """Tell whether this person's role grants ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


def as_principal(actor: Principal | str) -> Principal:
    """The person acting; a plain name is the command line's operator."""
    return actor if isinstance(actor, Principal) else Principal.operator(str(actor))


def authorize(actor: Principal | str, permission: Permission) -> str:
    """Check that ``actor`` may do ``permission``; return the name for the audit log.

    Raises
    ------
    PermissionDeniedError
        If the role does not grant it (the message says which role would).
    """
    person = as_principal(actor)
    if not person.allows(permission):
        roles = "、".join(ROLE_NAMES_ZH[r] for r, granted in ROLE_PERMISSIONS.items()
                         if permission in granted and r != Role.OPERATOR)
        msg = (f"{person.username}（{ROLE_NAMES_ZH[person.role]}）无权执行此操作；需要角色：{roles}。"
               f" / {person.username} ({person.role}) may not do this ({permission}).")
        raise PermissionDeniedError(msg)
    return person.audit_name

"""The seven agent-mitra roles, their demo phone numbers and the permissions each role holds."""

from __future__ import annotations

from collections.abc import Mapping

# The seven agent-mitra roles and their demo accounts, in the order the source project's RBAC test
# data uses (one phone number per role, +919876543200 upwards).
ROLES: tuple[str, ...] = (
    "super_admin",
    "insurance_provider_admin",
    "regional_manager",
    "senior_agent",
    "junior_agent",
    "policyholder",
    "support_staff",
)
DEMO_PHONES: Mapping[str, str] = {role: f"+9198765432{index:02d}" for index, role in enumerate(ROLES)}

# Authorization is by permission, roles are bundles of permissions: the same shape as the source
# project's RBAC, and it keeps each endpoint's rule to one word.
_FIELD_AGENT = frozenset(
    {
        "dashboard.read",
        "policies.read",
        "policies.create",
        "customers.read",
        "payments.read",
        "payments.create",
        "callbacks.create",
    }
)
_MANAGEMENT = frozenset(
    {
        "dashboard.read",
        "analytics.read",
        "agents.read",
        "team.read",
        "reports.generate",
        "policies.read",
        "customers.read",
        "payments.read",
    }
)
_ADMIN_ONLY = frozenset({"users.read", "users.manage", "feature_flags.read", "feature_flags.update", "system.health"})
_BELOW_ADMIN: Mapping[str, frozenset[str]] = {
    "insurance_provider_admin": _MANAGEMENT | {"agents.approve"},
    "regional_manager": _MANAGEMENT | {"policies.approve", "callbacks.read"},
    "senior_agent": _FIELD_AGENT | {"policies.approve", "callbacks.read", "callbacks.update", "tickets.create"},
    "junior_agent": _FIELD_AGENT,
    "policyholder": frozenset(
        {
            "dashboard.read",
            "policies.read",
            "payments.read",
            "payments.create",
            "tickets.read",
            "tickets.create",
            "callbacks.create",
        }
    ),
    "support_staff": frozenset(
        {
            "dashboard.read",
            "policies.read",
            "customers.read",
            "tickets.read",
            "tickets.create",
            "tickets.update",
            "callbacks.read",
            "callbacks.create",
            "callbacks.update",
        }
    ),
}
# The super admin may do everything any other role may, plus the admin-only operations.
ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "super_admin": frozenset().union(*_BELOW_ADMIN.values(), _ADMIN_ONLY),
    **_BELOW_ADMIN,
}

"""The agent-mitra plan's endpoints, one module per kind of work (login lives in `target.auth`).

- `admin`: super admin work (users, feature flags, system health)
- `management`: provider admin and regional manager work (agents, analytics, reports)
- `policies`: customers, policies and payments, scoped by role
- `services`: service tickets and callbacks
"""

from __future__ import annotations

import flask

from loadcluster.target.agent_mitra.admin import register_admin_routes
from loadcluster.target.agent_mitra.management import register_management_routes
from loadcluster.target.agent_mitra.policies import register_policy_routes
from loadcluster.target.agent_mitra.services import register_service_routes
from loadcluster.target.auth import Guard
from loadcluster.target.state import State


def register_agent_mitra_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    register_admin_routes(app, state, guard)
    register_management_routes(app, state, guard)
    register_policy_routes(app, state, guard)
    register_service_routes(app, state, guard)

"""Super admin work: user management, feature flags, system health."""

from __future__ import annotations

import itertools
import time

import flask
from flask.typing import ResponseReturnValue

from loadcluster.target.auth import Guard
from loadcluster.target.roles import ROLES
from loadcluster.target.state import State
from loadcluster.target.web import found, int_arg, json_body, required_str


def register_admin_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    @app.get("/api/v1/users")
    def list_users() -> ResponseReturnValue:
        guard.require("users.read")
        page, limit = int_arg("page", 1, high=10_000), int_arg("limit", 20)
        users = itertools.islice(state.accounts.all(), (page - 1) * limit, page * limit)
        return {"page": page, "limit": limit, "items": [account.profile() for account in users]}

    @app.post("/api/v1/users")
    def create_user() -> ResponseReturnValue:
        guard.require("users.manage")
        body = json_body()
        phone = required_str(body, "phone_number")
        if not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
            flask.abort(400, description="'phone_number' must look like +<country code><number>")
        if state.accounts.by_phone(phone) is not None:
            flask.abort(409, description="a user with this phone number already exists")
        # Without a password the account exists but cannot log in, like an invited user.
        password = body.get("password")
        password = password if isinstance(password, str) else ""
        account = state.accounts.add(
            required_str(body, "full_name"), phone, required_str(body, "role", frozenset(ROLES)), password
        )
        return account.profile(), 201

    @app.get("/api/v1/users/<user_id>")
    def get_user(user_id: str) -> ResponseReturnValue:
        guard.require("users.read")
        return found(state.accounts.get(user_id), "user").profile()

    @app.get("/api/v1/feature-flags")
    def feature_flags() -> ResponseReturnValue:
        guard.require("feature_flags.read")
        return {"flags": state.feature_flags, "environment": "demo"}

    @app.post("/api/v1/feature-flags/<flag_name>")
    def set_feature_flag(flag_name: str) -> ResponseReturnValue:
        guard.require("feature_flags.update")
        enabled = json_body().get("enabled")
        if not isinstance(enabled, bool):
            flask.abort(400, description="'enabled' must be true or false")
        state.feature_flags[flag_name] = enabled
        return {"flag_name": flag_name, "enabled": enabled}

    @app.get("/api/v1/health/system")
    def system_health() -> ResponseReturnValue:
        guard.require("system.health")
        return {
            "status": "healthy",
            "uptime_seconds": round(time.monotonic() - state.started_at, 1),
            "requests_total": sum(state.requests.values()),
            "records": {
                "policies": len(state.ledger.policies),
                "payments": len(state.ledger.payments),
                "tickets": len(state.tickets),
                "callbacks": len(state.callbacks),
                "support_tickets": len(state.support_tickets),
            },
        }

"""Agent-mitra sign-in: phone + password login, bearer and refresh tokens, and permission checks.

Routes of the other agent-mitra modules ask a `Guard` for the permission they need, so a plan that
forgets its token sees 401 and one that uses the wrong role sees 403, as on the real platform.
"""

from __future__ import annotations

import hmac

import flask
from flask import request
from flask.typing import ResponseReturnValue

from loadcluster.target.records import Doc
from loadcluster.target.roles import ROLE_PERMISSIONS
from loadcluster.target.state import Account, Accounts, State
from loadcluster.target.web import json_body, required_str


class Guard:
    """Bearer-token authentication and permission checks for agent-mitra endpoints."""

    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    def authenticate(self) -> Account:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        account = self._accounts.from_access(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            flask.abort(401, description="missing or invalid bearer token")
        return account

    def require(self, permission: str) -> Account:
        account = self.authenticate()
        if permission not in ROLE_PERMISSIONS[account.role]:
            flask.abort(403, description=f"role '{account.role}' lacks permission '{permission}'")
        return account


def _same(given: str, expected: str) -> bool:
    # compare_digest: the demo should not teach timing-leaky password checks.
    return hmac.compare_digest(given.encode(), expected.encode())


def _session_doc(state: State, account: Account) -> Doc:
    access, refresh = state.accounts.issue(account)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "user": account.profile(),
        "roles": [account.role],
        "permissions": sorted(ROLE_PERMISSIONS[account.role]),
    }


def register_auth_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    @app.post("/api/v1/auth/login")
    def login() -> ResponseReturnValue:
        body = json_body()
        account = state.accounts.by_phone(required_str(body, "phone_number"))
        password = required_str(body, "password")
        if account is None or not account.password or not _same(password, account.password):
            flask.abort(401, description="invalid phone number or password")
        state.logins_by_role[account.role] += 1
        return _session_doc(state, account)

    @app.post("/api/v1/auth/refresh")
    def refresh() -> ResponseReturnValue:
        account = state.accounts.from_refresh(required_str(json_body(), "refresh_token"))
        if account is None:
            flask.abort(401, description="invalid refresh token")
        return _session_doc(state, account)

    @app.get("/api/v1/users/me")
    def me() -> ResponseReturnValue:
        account = guard.authenticate()
        return {**account.profile(), "permissions": sorted(ROLE_PERMISSIONS[account.role])}

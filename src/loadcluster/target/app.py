"""create_app: one demo target assembled from its parts, with state and metrics of its own."""

from __future__ import annotations

import flask

from loadcluster.target.agent_mitra import register_agent_mitra_routes
from loadcluster.target.auth import Guard, register_auth_routes
from loadcluster.target.customer_success import register_customer_success_routes
from loadcluster.target.instrumentation import install_instrumentation, register_control_routes, register_ops_routes
from loadcluster.target.seed import seeded_state
from loadcluster.target.settings import TargetSettings


def create_app(settings: TargetSettings) -> flask.Flask:
    """A fresh demo target with its own state and metrics registry."""
    app = flask.Flask("loadcluster.target", static_folder=None)  # no static files to serve
    # Keep documents in the order they are written, and save sorting every response.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = seeded_state(settings)
    guard = Guard(state.accounts)
    # Hooks first, so every route below is counted and can be slowed or failed.
    install_instrumentation(app, state)
    register_control_routes(app, state)
    register_ops_routes(app, state)
    register_customer_success_routes(app, state)
    register_auth_routes(app, state, guard)
    register_agent_mitra_routes(app, state, guard)
    return app

"""Provider admin and regional manager work: agents, team performance, analytics, reports."""

from __future__ import annotations

import flask
from flask import request
from flask.typing import ResponseReturnValue

from loadcluster.target.auth import Guard
from loadcluster.target.records import Doc, Tally, now_iso
from loadcluster.target.state import State, overview
from loadcluster.target.vocabulary import REPORT_TYPES
from loadcluster.target.web import found, int_arg, json_body, listing, required_str


def _agent_performance(state: State, agent: Doc) -> Doc:
    user_id = agent["user_id"]
    policies = state.ledger.policy_tally[f"seller:{user_id}"] if user_id else Tally()
    payments = state.ledger.payment_tally[f"seller:{user_id}"] if user_id else Tally()
    return {
        "agent_id": agent["agent_id"],
        "full_name": agent["full_name"],
        "territory": agent["territory"],
        "policies_sold": policies.count,
        "premium_written": round(policies.amount, 2),
        "policies_by_status": dict(policies.by_kind),
        "premium_collected": round(payments.amount, 2),
    }


def _top_agents(state: State, limit: int) -> list[Doc]:
    ranked = sorted(
        (_agent_performance(state, agent) for agent in state.agents.values()),
        key=lambda row: row["premium_written"],
        reverse=True,
    )
    return ranked[:limit]


def _report(state: State, body: Doc) -> Doc:
    report_type = required_str(body, "report_type", REPORT_TYPES)
    if report_type == "agent_performance":
        agent = found(state.agents.get(required_str(body, "agent_id")), "agent")
        data: Doc = _agent_performance(state, agent)
    elif report_type == "revenue":
        data = state.ledger.payment_tally["all"].as_json("by_method")
    elif report_type == "policy":
        data = state.ledger.policy_tally["all"].as_json("by_status")
    else:
        data = overview(state)
    return {"report_type": report_type, "generated_at": now_iso(), "data": data}


def register_management_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    @app.get("/api/v1/analytics/dashboard/overview")
    def analytics_overview() -> ResponseReturnValue:
        guard.require("analytics.read")
        return overview(state)

    @app.get("/api/v1/analytics/dashboard/top-agents")
    def top_agents() -> ResponseReturnValue:
        guard.require("analytics.read")
        return listing(_top_agents(state, int_arg("limit", 10, high=50)))

    @app.get("/api/v1/analytics/revenue/analytics")
    def revenue_analytics() -> ResponseReturnValue:
        guard.require("analytics.read")
        return state.ledger.payment_tally["all"].as_json("by_method")

    @app.get("/api/v1/analytics/agents/<agent_id>/performance")
    def agent_performance(agent_id: str) -> ResponseReturnValue:
        guard.require("team.read")
        return _agent_performance(state, found(state.agents.get(agent_id), "agent"))

    @app.post("/api/v1/analytics/reports/generate")
    def generate_report() -> ResponseReturnValue:
        guard.require("reports.generate")
        return _report(state, json_body())

    @app.get("/api/v1/agents")
    def list_agents() -> ResponseReturnValue:
        guard.require("agents.read")
        territory = request.args.get("territory")
        agents = [a for a in state.agents.values() if territory in (None, a["territory"])]
        return listing(agents[: int_arg("limit", 20)])

    @app.get("/api/v1/agents/<agent_id>")
    def get_agent(agent_id: str) -> ResponseReturnValue:
        guard.require("agents.read")
        return found(state.agents.get(agent_id), "agent")

    @app.post("/api/v1/agents/<agent_id>/approve")
    def approve_agent(agent_id: str) -> ResponseReturnValue:
        guard.require("agents.approve")
        agent = found(state.agents.get(agent_id), "agent")
        agent["verification_status"] = "verified"  # idempotent: approving twice is not an error
        return agent

"""Agents sell and review policies, customers browse and pay for theirs; what each sees is scoped by role."""

from __future__ import annotations

from collections.abc import Iterator

import flask
from flask import request
from flask.typing import ResponseReturnValue

from loadcluster.target.auth import Guard
from loadcluster.target.records import Doc, now_iso, take
from loadcluster.target.state import Account, State, new_policy, overview
from loadcluster.target.vocabulary import PAYMENT_METHODS, POLICY_CATEGORIES, PREMIUM_FREQUENCIES
from loadcluster.target.web import found, int_arg, json_body, listing, positive_number, required_str


def _can_view_policy(account: Account, policy: Doc) -> bool:
    # Customers see their own policies and junior agents the ones they sold; senior agents review
    # the whole team's work and every other role with policies.read sees everything.
    if account.role == "policyholder":
        return policy["policyholder_id"] == account.customer_id
    if account.role == "junior_agent":
        return policy["agent_user_id"] == account.user_id
    return True


def _ledger_scope(account: Account) -> str:
    if account.role == "policyholder":
        return f"holder:{account.customer_id}"
    if account.role == "junior_agent":
        return f"seller:{account.user_id}"
    return "all"


def _policy_from_body(state: State, account: Account, body: Doc) -> Doc:
    holder = required_str(body, "policyholder_id")
    found(state.customers.get(holder), "policyholder")
    return new_policy(
        state,
        holder=holder,
        seller=account.user_id,
        plan_name=required_str(body, "plan_name"),
        category=required_str(body, "category", POLICY_CATEGORIES),
        sum_assured=positive_number(body, "sum_assured"),
        premium_amount=positive_number(body, "premium_amount"),
        frequency=required_str(body, "premium_frequency", PREMIUM_FREQUENCIES),
    )


def _visible_policy(state: State, account: Account, policy_id: str) -> Doc:
    policy = found(state.ledger.policies.get(policy_id), "policy")
    if not _can_view_policy(account, policy):
        flask.abort(403, description="this policy belongs to someone else")
    return policy


def _policies_for(state: State, account: Account, status: str | None) -> Iterator[Doc]:
    ledger = state.ledger
    if account.role == "policyholder":
        return ledger.policies_by_holder.newest(account.customer_id or "", ledger.policies)
    if account.role == "junior_agent":
        return ledger.policies_by_seller.newest(account.user_id, ledger.policies)
    return ledger.pending_newest() if status == "pending" else ledger.policies.newest()


def _payments_for(state: State, account: Account) -> Iterator[Doc]:
    ledger = state.ledger
    if account.role == "policyholder":
        return ledger.payments_by_holder.newest(account.customer_id or "", ledger.payments)
    if account.role == "junior_agent":
        return ledger.payments_by_seller.newest(account.user_id, ledger.payments)
    return ledger.payments.newest()


def _new_payment(state: State, account: Account, body: Doc) -> Doc:
    policy = _visible_policy(state, account, required_str(body, "policy_id"))
    payment_id = state.ledger.payments.new_id()
    return {
        "payment_id": payment_id,
        "policy_id": policy["policy_id"],
        "policyholder_id": policy["policyholder_id"],
        "agent_user_id": policy["agent_user_id"],
        "amount": positive_number(body, "amount"),
        "method": required_str(body, "method", PAYMENT_METHODS),
        "status": "completed",
        "paid_at": now_iso(),
        "recorded_by": account.user_id,
    }


def register_policy_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    @app.get("/api/v1/dashboard/analytics")
    def dashboard() -> ResponseReturnValue:
        account = guard.require("dashboard.read")
        return {"role": account.role, **overview(state, _ledger_scope(account))}

    @app.get("/api/v1/customers")
    def list_customers() -> ResponseReturnValue:
        guard.require("customers.read")
        return listing(list(state.customers.values())[: int_arg("limit", 20)])

    @app.get("/api/v1/customers/<customer_id>")
    def get_customer(customer_id: str) -> ResponseReturnValue:
        guard.require("customers.read")
        return found(state.customers.get(customer_id), "customer")

    @app.get("/api/v1/policies")
    def list_policies() -> ResponseReturnValue:
        account = guard.require("policies.read")
        status = request.args.get("status")
        keep = (lambda policy: policy["status"] == status) if status else None
        return listing(take(_policies_for(state, account, status), int_arg("limit", 20), keep))

    @app.post("/api/v1/policies")
    def create_policy() -> ResponseReturnValue:
        account = guard.require("policies.create")
        policy = _policy_from_body(state, account, json_body())
        state.ledger.add_policy(policy)
        return policy, 201

    @app.get("/api/v1/policies/<policy_id>")
    def get_policy(policy_id: str) -> ResponseReturnValue:
        return _visible_policy(state, guard.require("policies.read"), policy_id)

    @app.post("/api/v1/policies/<policy_id>/approve")
    def approve_policy(policy_id: str) -> ResponseReturnValue:
        account = guard.require("policies.approve")
        policy = _visible_policy(state, account, policy_id)
        # Two reviewers may pick the same pending policy; the second finds it active, which is the
        # outcome they wanted, so approving an active policy is not an error.
        if policy["status"] == "pending":
            state.ledger.activate(policy, account.user_id)
        return policy

    @app.get("/api/v1/payments")
    def list_payments() -> ResponseReturnValue:
        account = guard.require("payments.read")
        return listing(take(_payments_for(state, account), int_arg("limit", 20)))

    @app.post("/api/v1/payments")
    def record_payment() -> ResponseReturnValue:
        payment = _new_payment(state, guard.require("payments.create"), json_body())
        state.ledger.add_payment(payment)
        return payment, 201

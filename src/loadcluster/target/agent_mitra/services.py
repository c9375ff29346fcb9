"""Service requests raised by customers and the callbacks support staff work through."""

from __future__ import annotations

import flask
from flask import request
from flask.typing import ResponseReturnValue

from loadcluster.target.auth import Guard
from loadcluster.target.records import Doc, now_iso, take
from loadcluster.target.state import Account, State
from loadcluster.target.vocabulary import CALLBACK_STATUSES, SUPPORT_PRIORITIES, TICKET_STATUSES
from loadcluster.target.web import found, int_arg, json_body, listing, required_str


def _new_ticket(state: State, account: Account, body: Doc) -> Doc:
    ticket_id = state.tickets.new_id()
    return {
        "ticket_id": ticket_id,
        "subject": required_str(body, "subject"),
        "description": required_str(body, "description"),
        "category": body.get("category") if isinstance(body.get("category"), str) else "general",
        "priority": required_str(body, "priority", SUPPORT_PRIORITIES) if "priority" in body else "medium",
        "status": "open",
        "raised_by": account.user_id,
        "customer_id": account.customer_id,
        "created_at": now_iso(),
    }


def _visible_ticket(state: State, account: Account, ticket_id: str) -> Doc:
    ticket = found(state.tickets.get(ticket_id), "ticket")
    if account.role == "policyholder" and ticket["raised_by"] != account.user_id:
        flask.abort(403, description="this ticket belongs to someone else")
    return ticket


def _new_callback(state: State, account: Account, body: Doc) -> Doc:
    # A customer asks for a call about themselves; staff and agents file one for a named customer.
    holder = account.customer_id or required_str(body, "policyholder_id")
    found(state.customers.get(holder), "policyholder")
    callback_id = state.callbacks.new_id()
    return {
        "callback_id": callback_id,
        "policyholder_id": holder,
        "request_type": required_str(body, "request_type"),
        "description": required_str(body, "description"),
        "urgency_level": body.get("urgency_level", "medium"),
        "status": "pending",
        "requested_by": account.user_id,
        "created_at": now_iso(),
    }


def register_service_routes(app: flask.Flask, state: State, guard: Guard) -> None:
    @app.get("/api/v1/tickets")
    def list_tickets() -> ResponseReturnValue:
        account = guard.require("tickets.read")
        status = request.args.get("status")
        keep = (lambda ticket: ticket["status"] == status) if status else None
        source = (
            state.tickets_by_owner.newest(account.user_id, state.tickets)
            if account.role == "policyholder"
            else state.tickets.newest()
        )
        return listing(take(source, int_arg("limit", 20), keep))

    @app.post("/api/v1/tickets")
    def create_ticket() -> ResponseReturnValue:
        account = guard.require("tickets.create")
        ticket = _new_ticket(state, account, json_body())
        state.tickets.put(ticket["ticket_id"], ticket)
        state.tickets_by_owner.add(account.user_id, ticket["ticket_id"])
        return ticket, 201

    @app.get("/api/v1/tickets/<ticket_id>")
    def get_ticket(ticket_id: str) -> ResponseReturnValue:
        return _visible_ticket(state, guard.require("tickets.read"), ticket_id)

    @app.put("/api/v1/tickets/<ticket_id>/status")
    def update_ticket(ticket_id: str) -> ResponseReturnValue:
        account = guard.require("tickets.update")
        ticket = _visible_ticket(state, account, ticket_id)
        ticket.update(status=required_str(json_body(), "status", TICKET_STATUSES), updated_at=now_iso())
        return ticket

    @app.get("/api/v1/callbacks")
    def list_callbacks() -> ResponseReturnValue:
        guard.require("callbacks.read")
        status = request.args.get("status")
        keep = (lambda callback: callback["status"] == status) if status else None
        return listing(take(state.callbacks.newest(), int_arg("limit", 20), keep))

    @app.post("/api/v1/callbacks")
    def create_callback() -> ResponseReturnValue:
        callback = _new_callback(state, guard.require("callbacks.create"), json_body())
        state.callbacks.put(callback["callback_id"], callback)
        return callback, 201

    @app.put("/api/v1/callbacks/<callback_id>/status")
    def update_callback(callback_id: str) -> ResponseReturnValue:
        account = guard.require("callbacks.update")
        callback = found(state.callbacks.get(callback_id), "callback")
        callback.update(status=required_str(json_body(), "status", CALLBACK_STATUSES), handled_by=account.user_id)
        return callback

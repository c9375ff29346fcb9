"""The customer-success plan's endpoints: support intake and messaging webhooks.

No login here: support forms are public, and webhook senders authenticate with signatures the demo
does not check.
"""

from __future__ import annotations

import base64
import binascii
import json
import time

import flask
from flask.typing import ResponseReturnValue

from loadcluster.target.records import Doc, now_iso
from loadcluster.target.state import State
from loadcluster.target.vocabulary import SUPPORT_CATEGORIES, SUPPORT_PRIORITIES
from loadcluster.target.web import found, json_body, required_str


def _support_status(created: float, now: float) -> str:
    # Tickets move on with age, so a status check sees a ticket being worked like a real desk would.
    age = now - created
    if age < 60:
        return "open"
    return "in_progress" if age < 600 else "resolved"


def _gmail_notification(body: Doc) -> Doc:
    """The decoded `message.data` of a Pub/Sub push envelope: {"emailAddress", "historyId"}."""
    message = body.get("message")
    subscription = body.get("subscription")
    if not isinstance(message, dict) or not isinstance(subscription, str):
        flask.abort(400, description="expected a Pub/Sub push envelope with 'message' and 'subscription'")
    data = message.get("data")
    if not isinstance(data, str) or not isinstance(message.get("messageId"), str):
        flask.abort(400, description="'message' needs base64 'data' and a 'messageId'")
    try:
        # urlsafe decoding accepts both alphabets; Gmail documents base64url, Pub/Sub emits standard.
        notification = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError):
        flask.abort(400, description="'message.data' is not base64-encoded JSON")
    if not isinstance(notification, dict) or "@" not in str(notification.get("emailAddress", "")):
        flask.abort(400, description="notification needs an 'emailAddress'")
    history = notification.get("historyId")
    if not (isinstance(history, int) or (isinstance(history, str) and history.isdigit())):
        flask.abort(400, description="notification needs a numeric 'historyId'")
    return notification


def _whatsapp_messages(body: Doc) -> int:
    """How many messages a WhatsApp Cloud API webhook delivery carries; 400 if it is not one."""
    if body.get("object") != "whatsapp_business_account" or not isinstance(body.get("entry"), list):
        flask.abort(400, description="expected object 'whatsapp_business_account' with an 'entry' list")
    messages = 0
    for entry in body["entry"]:
        for change in entry.get("changes", []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or value.get("messaging_product") != "whatsapp":
                flask.abort(400, description="each change needs a 'value' with messaging_product 'whatsapp'")
            delivered = value.get("messages", [])
            messages += len(delivered) if isinstance(delivered, list) else 0
    return messages


def register_customer_success_routes(app: flask.Flask, state: State) -> None:
    @app.post("/api/v1/support/form")
    def submit_support_form() -> ResponseReturnValue:
        body = json_body()
        fields = {name: required_str(body, name) for name in ("name", "email", "subject", "message")}
        if "@" not in fields["email"]:
            flask.abort(400, description="'email' is not an email address")
        ticket_id = state.support_tickets.new_id()
        ticket = {
            "ticket_id": ticket_id,
            "subject": fields["subject"],
            "category": required_str(body, "category", SUPPORT_CATEGORIES),
            "priority": required_str(body, "priority", SUPPORT_PRIORITIES),
            "email": fields["email"],
            "created_at": now_iso(),
            "created": time.time(),
        }
        state.support_tickets.put(ticket_id, ticket)
        return {"ticket_id": ticket_id, "status": "open", "created_at": ticket["created_at"]}, 201

    @app.get("/api/v1/support/ticket/<ticket_id>")
    def support_ticket_status(ticket_id: str) -> ResponseReturnValue:
        ticket = found(state.support_tickets.get(ticket_id), "ticket")
        public = {key: value for key, value in ticket.items() if key != "created"}
        return {**public, "status": _support_status(ticket["created"], time.time())}

    @app.post("/api/v1/webhooks/gmail")
    def gmail_webhook() -> ResponseReturnValue:
        body = json_body()
        notification = _gmail_notification(body)
        return {"status": "accepted", "message_id": body["message"]["messageId"], **notification}

    @app.post("/api/v1/webhooks/whatsapp")
    def whatsapp_webhook() -> ResponseReturnValue:
        return {"status": "received", "messages": _whatsapp_messages(json_body())}

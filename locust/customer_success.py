"""Customer-success test plan: the inbound side of a support desk.

Four kinds of traffic reach a customer-success backend, and this plan sends all of them:

* WebFormUser (weight 60): people filling in the support form on the website, and now and then
  coming back to check the status of a ticket they opened;
* EmailWebhookUser (weight 25): Gmail push notifications, delivered by Cloud Pub/Sub as a push
  envelope whose base64 `data` holds {"emailAddress", "historyId"};
* WhatsAppWebhookUser (weight 15): message webhooks from Meta's WhatsApp Cloud API;
* HealthCheckUser (weight 5): load balancers and Prometheus polling /health and /metrics.

Where the numbers come from: the weights 60/25/15/5 and the wait times are the seed plan's. They
model a desk where most contacts arrive through the web form, email is the next channel and WhatsApp
the smallest; a user's wait is the time between two contacts from that source (a person typing a
form takes seconds, a mailbox or a WhatsApp number produces a notification every few seconds to
half a minute). Each simulated user is one such source, so users x (1 / mean wait) is the request
rate: 100 users give roughly 13 requests per second.

This file is standalone: it needs only Locust and Faker, so it runs against any deployment of the
API (the bundled demo target implements every endpoint it calls).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from faker import Faker
from locust import FastHttpUser, between, task

# One Faker per process: building one takes tens of milliseconds, and its methods do not yield to
# gevent, so sharing it between users is safe.
fake = Faker()

SUPPORT_CATEGORIES = ("billing", "technical", "account", "general")
# Most contacts are routine; urgent ones are rare, as on a real desk.
SUPPORT_PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_WEIGHTS = (40, 35, 20, 5)

# Pub/Sub push subscription and WhatsApp business account the notifications claim to come from.
PUBSUB_SUBSCRIPTION = "projects/loadcluster-demo/subscriptions/gmail-push"
WHATSAPP_BUSINESS_ACCOUNT_ID = "102290129340398"
WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
WHATSAPP_DISPLAY_NUMBER = "+1 555 010 4477"

TICKET_STATUS_NAME = "/api/v1/support/ticket/[id]"


def support_form() -> dict[str, str]:
    return {
        "name": fake.name(),
        "email": fake.email(),
        "subject": fake.sentence(nb_words=6).rstrip("."),
        "category": random.choice(SUPPORT_CATEGORIES),
        "priority": random.choices(SUPPORT_PRIORITIES, weights=PRIORITY_WEIGHTS)[0],
        "message": fake.paragraph(nb_sentences=4),
    }


def gmail_push_envelope(email_address: str, history_id: int) -> dict[str, Any]:
    """A Pub/Sub push request as Gmail's watch() produces it."""
    notification = json.dumps({"emailAddress": email_address, "historyId": history_id})
    return {
        "message": {
            # Gmail documents message.data as base64url-encoded JSON.
            "data": base64.urlsafe_b64encode(notification.encode()).decode(),
            "messageId": str(random.randint(10**15, 10**16 - 1)),
            "publishTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
        "subscription": PUBSUB_SUBSCRIPTION,
    }


def whatsapp_message_webhook(sender_name: str, sender_wa_id: str, text: str) -> dict[str, Any]:
    """A WhatsApp Cloud API `messages` webhook carrying one inbound text message."""
    message = {
        "from": sender_wa_id,
        "id": f"wamid.{uuid.uuid4().hex.upper()}",
        "timestamp": str(int(datetime.now(UTC).timestamp())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": WHATSAPP_DISPLAY_NUMBER,
            "phone_number_id": WHATSAPP_PHONE_NUMBER_ID,
        },
        "contacts": [{"profile": {"name": sender_name}, "wa_id": sender_wa_id}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WHATSAPP_BUSINESS_ACCOUNT_ID, "changes": [{"field": "messages", "value": value}]}],
    }


class WebFormUser(FastHttpUser):
    """A customer using the website's support form."""

    weight = 60
    wait_time = between(2, 10)

    def on_start(self) -> None:
        # The few tickets this customer opened most recently: the ones they would come back to check.
        self.my_tickets: deque[str] = deque(maxlen=5)

    @task(3)
    def submit_support_form(self) -> None:
        with self.client.post("/api/v1/support/form", json=support_form(), catch_response=True) as response:
            if not response.ok:
                return  # Locust already counts a non-2xx answer as a failure
            ticket_id = _json_field(response, "ticket_id")
            if ticket_id is None:
                response.failure("support form accepted but no ticket_id in the response")
            else:
                self.my_tickets.append(str(ticket_id))

    @task(1)
    def check_ticket_status(self) -> None:
        if not self.my_tickets:
            # Nothing to check yet: someone without a ticket comes to the form to open one.
            self.submit_support_form()
            return
        ticket_id = random.choice(self.my_tickets)
        # One stats entry for all tickets: a name per id would make thousands of rows.
        with self.client.get(
            f"/api/v1/support/ticket/{ticket_id}", name=TICKET_STATUS_NAME, catch_response=True
        ) as response:
            if response.ok and _json_field(response, "status") is None:
                response.failure("ticket found but it has no status")


class EmailWebhookUser(FastHttpUser):
    """One watched Gmail mailbox whose changes Pub/Sub pushes to the webhook."""

    weight = 25
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.mailbox = fake.company_email()
        self.history_id = random.randint(1_000_000, 9_000_000)

    @task
    def gmail_push_notification(self) -> None:
        # A mailbox's history id only grows: each notification reports the newest one.
        self.history_id += random.randint(1, 50)
        self.client.post("/api/v1/webhooks/gmail", json=gmail_push_envelope(self.mailbox, self.history_id))


class WhatsAppWebhookUser(FastHttpUser):
    """One WhatsApp contact writing to the business number, as Meta's webhook delivers it."""

    weight = 15
    wait_time = between(10, 30)

    def on_start(self) -> None:
        self.sender_name = fake.name()
        self.sender_wa_id = f"91{random.randint(6_000_000_000, 9_999_999_999)}"

    @task
    def inbound_message(self) -> None:
        payload = whatsapp_message_webhook(self.sender_name, self.sender_wa_id, fake.sentence(nb_words=10))
        self.client.post("/api/v1/webhooks/whatsapp", json=payload)


class HealthCheckUser(FastHttpUser):
    """Load balancer health probes and a Prometheus scrape."""

    weight = 5
    wait_time = between(5, 15)

    @task(3)
    def health(self) -> None:
        self.client.get("/health")

    @task(1)
    def metrics(self) -> None:
        self.client.get("/metrics")


def _json_field(response: Any, name: str) -> Any:
    """`name` from a JSON object response, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None

"""Agent-mitra test plan: an insurance agent platform worked by seven roles at once.

Agent Mitra (github.com/manizvlabs/agentmitra) is a platform on which insurance agents sell and
service policies and their customers follow them. Its API lives under /api/v1, users log in with a
phone number and password and get a bearer token, and what they may do depends on their role. This
plan has one Locust user class per role, each doing that role's everyday work:

    role                       class                 weight  work
    super_admin                SuperAdminUser             1  KPIs, user management, system health, flags
    insurance_provider_admin   ProviderAdminUser          2  agent management and approval, analytics, reports
    regional_manager           RegionalManagerUser        3  team performance, agents, analytics
    senior_agent               SeniorAgentUser           10  policies (sell and review), customers, payments
    junior_agent               JuniorAgentUser           20  policies (sell), customers, payments
    policyholder               PolicyholderUser          50  own policies, premiums, tickets, callbacks
    support_staff              SupportStaffUser           5  ticket queue and callback requests

The weights are the seed plan's: for every super admin there are a handful of managers, tens of
agents and about fifty customers, which is the shape of an agency's user base.

Credentials are the platform's test accounts, one phone number per role (+919876543200 for the super
admin up to +919876543206 for support staff); the password comes from AGENT_MITRA_PASSWORD and
defaults to "testpassword". Many simulated users share one account, as a role's test account would
be shared by a team trying the system.

This file is standalone (Locust and the standard library only): it runs against a real deployment
or the bundled demo target, which implements every endpoint called here.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any, ClassVar

from locust import FastHttpUser, between, task

PASSWORD = os.environ.get("AGENT_MITRA_PASSWORD", "testpassword")
PHONES: dict[str, str] = {
    "super_admin": "+919876543200",
    "insurance_provider_admin": "+919876543201",
    "regional_manager": "+919876543202",
    "senior_agent": "+919876543203",
    "junior_agent": "+919876543204",
    "policyholder": "+919876543205",
    "support_staff": "+919876543206",
}

PLANS = (("Term Shield", "life"), ("Family Health Plus", "health"), ("Motor Secure", "general"))
PREMIUM_FREQUENCIES = ("monthly", "quarterly", "half_yearly", "annual")
PAYMENT_METHODS = ("upi", "card", "netbanking")
TICKET_SUBJECTS = (
    ("Premium receipt not received", "billing"),
    ("Update nominee details", "account"),
    ("App shows wrong renewal date", "technical"),
    ("Question about claim process", "general"),
)
CALLBACK_TYPES = ("policy_query", "premium_payment", "claim_assistance", "renewal")


def items(body: Any) -> list[dict[str, Any]]:
    """The records of a list response ({"items": [...]}), or none when the answer was not one."""
    found = body.get("items") if isinstance(body, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def ids(records: list[dict[str, Any]], key: str) -> list[str]:
    return [str(record[key]) for record in records if key in record]


class AgentMitraUser(FastHttpUser):
    """Logs in as its role's test account, then calls the API with the bearer token."""

    abstract = True
    role: ClassVar[str] = ""
    # People working through the screens of a business app: a few seconds to read a page before
    # the next action. The scenario catalogue's user counts for this suite assume 1-5 s.
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.token: str | None = None
        self.login()

    def login(self) -> bool:
        credentials = {"phone_number": PHONES[self.role], "password": PASSWORD}
        with self.client.post("/api/v1/auth/login", json=credentials, catch_response=True) as response:
            self.token = None
            if not response.ok:
                return False  # counted as a failure by Locust
            body = _json(response)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                response.failure("login answered without an access_token")
                return False
            if self.role not in body.get("roles", []):
                # The account exists but is not this role: every later request would test the wrong thing.
                response.failure(f"{PHONES[self.role]} logged in without role {self.role}")
                return False
            self.token = token
            return True

    def api(
        self, method: str, path: str, *, name: str | None = None, accept: tuple[int, ...] = (), **kwargs: Any
    ) -> Any:
        """Call the API as this user: the JSON body of a 2xx answer, else None.

        `accept` lists non-2xx statuses that are an expected outcome here rather than a failure.
        A 401 means the token was lost (expired, or the server restarted): log in again and retry
        once. The 401 still counts as a failure, so a run that keeps losing tokens shows it.
        """
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            with self.client.request(
                method, path, name=name or path, headers=headers, catch_response=True, **kwargs
            ) as response:
                if response.status_code == 401 and attempt == 1:
                    response.failure("401: token rejected, logging in again")
                elif response.status_code in accept:
                    response.success()
                    return None
                else:
                    return _checked_json(response)
            if not self.login():
                return None
        return None


# --------------------------------------------------------------------------------------------------
# Administration and management
# --------------------------------------------------------------------------------------------------


class SuperAdminUser(AgentMitraUser):
    weight = 1
    role = "super_admin"

    @task(3)
    def dashboard_kpis(self) -> None:
        self.api("GET", "/api/v1/analytics/dashboard/overview")

    @task(2)
    def browse_users(self) -> None:
        page = self.api("GET", "/api/v1/users", params={"page": random.randint(1, 2), "limit": 20})
        user_ids = ids(items(page), "user_id")
        if user_ids:
            self.api("GET", f"/api/v1/users/{random.choice(user_ids)}", name="/api/v1/users/[id]")

    @task(1)
    def invite_user(self) -> None:
        # Marked so that test users can be found and removed from a real deployment afterwards.
        new_user = {
            "full_name": f"Load Test {uuid.uuid4().hex[:8]}",
            "phone_number": f"+919{random.randint(0, 999_999_999):09d}",
            "role": random.choice(("junior_agent", "policyholder", "support_staff")),
        }
        # A random phone number may already be taken; being refused (409) is the correct answer.
        self.api("POST", "/api/v1/users", json=new_user, accept=(409,))

    @task(1)
    def system_health(self) -> None:
        self.api("GET", "/api/v1/health/system")

    @task(1)
    def review_feature_flags(self) -> None:
        # Read only: flipping flags under load would change what every other simulated user sees.
        self.api("GET", "/api/v1/feature-flags")


class ManagementUser(AgentMitraUser):
    """Shared by the roles that look after agents: keeps the agent list they pick from."""

    abstract = True

    def on_start(self) -> None:
        self.agents: list[dict[str, Any]] = []
        super().on_start()

    def list_agents(self) -> None:
        self.agents = items(self.api("GET", "/api/v1/agents", params={"limit": 50})) or self.agents

    def some_agent_id(self) -> str | None:
        if not self.agents:
            self.list_agents()
        agent_ids = ids(self.agents, "agent_id")
        return random.choice(agent_ids) if agent_ids else None


class ProviderAdminUser(ManagementUser):
    weight = 2
    role = "insurance_provider_admin"

    @task(3)
    def agent_roster(self) -> None:
        self.list_agents()

    @task(2)
    def view_agent(self) -> None:
        agent_id = self.some_agent_id()
        if agent_id:
            self.api("GET", f"/api/v1/agents/{agent_id}", name="/api/v1/agents/[id]")

    @task(1)
    def approve_agent(self) -> None:
        waiting = [a for a in self.agents if a.get("verification_status") == "pending"]
        if not waiting:
            self.list_agents()  # check whether anyone new is waiting for approval
            return
        agent_id = str(random.choice(waiting)["agent_id"])
        approved = self.api("POST", f"/api/v1/agents/{agent_id}/approve", name="/api/v1/agents/[id]/approve")
        if approved:
            self.list_agents()

    @task(2)
    def top_agents(self) -> None:
        self.api("GET", "/api/v1/analytics/dashboard/top-agents", params={"limit": 10})

    @task(1)
    def revenue(self) -> None:
        self.api("GET", "/api/v1/analytics/revenue/analytics")

    @task(1)
    def generate_report(self) -> None:
        report = {"report_type": random.choice(("dashboard", "policy", "revenue"))}
        self.api("POST", "/api/v1/analytics/reports/generate", json=report)


class RegionalManagerUser(ManagementUser):
    weight = 3
    role = "regional_manager"

    @task(3)
    def team_performance(self) -> None:
        agent_id = self.some_agent_id()
        if agent_id:
            self.api(
                "GET",
                f"/api/v1/analytics/agents/{agent_id}/performance",
                name="/api/v1/analytics/agents/[id]/performance",
            )

    @task(2)
    def agent_roster(self) -> None:
        self.list_agents()

    @task(2)
    def region_overview(self) -> None:
        self.api("GET", "/api/v1/analytics/dashboard/overview")

    @task(1)
    def top_agents(self) -> None:
        self.api("GET", "/api/v1/analytics/dashboard/top-agents", params={"limit": 5})

    @task(1)
    def performance_report(self) -> None:
        agent_id = self.some_agent_id()
        if agent_id:
            report = {"report_type": "agent_performance", "agent_id": agent_id}
            self.api("POST", "/api/v1/analytics/reports/generate", json=report)


# --------------------------------------------------------------------------------------------------
# Field agents
# --------------------------------------------------------------------------------------------------


def premium_payment(policy: dict[str, Any]) -> dict[str, Any]:
    """One premium for `policy`, as an agent collects it or a policyholder pays it."""
    return {
        "policy_id": policy["policy_id"],
        "amount": policy.get("premium_amount", 1000),
        "method": random.choice(PAYMENT_METHODS),
    }


class PolicyHolderOrAgentUser(AgentMitraUser):
    """What agents and policyholders both do: their dashboard, their policies, paying premiums."""

    abstract = True

    def on_start(self) -> None:
        self.policies: list[dict[str, Any]] = []
        super().on_start()

    @task(3)
    def dashboard(self) -> None:
        self.api("GET", "/api/v1/dashboard/analytics")

    @task(3)
    def my_policies(self) -> None:
        self.policies = items(self.api("GET", "/api/v1/policies", params={"limit": 20})) or self.policies

    @task(2)
    def view_policy(self) -> None:
        if not self.policies:
            self.my_policies()
        if self.policies:
            policy_id = random.choice(self.policies)["policy_id"]
            self.api("GET", f"/api/v1/policies/{policy_id}", name="/api/v1/policies/[id]")

    @task(1)
    def pay_premium(self) -> None:
        # An agent collecting a premium and a policyholder paying one make the same request.
        if not self.policies:
            self.my_policies()
        if self.policies:
            self.api("POST", "/api/v1/payments", json=premium_payment(random.choice(self.policies)))


class FieldAgentUser(PolicyHolderOrAgentUser):
    """An agent's day: dashboard, customers, selling policies and collecting premiums."""

    abstract = True

    def on_start(self) -> None:
        self.customers: list[str] = []
        super().on_start()

    @task(2)
    def customer_list(self) -> None:
        self.customers = ids(items(self.api("GET", "/api/v1/customers", params={"limit": 50})), "customer_id")

    @task(2)
    def sell_policy(self) -> None:
        if not self.customers:
            self.customer_list()
        if not self.customers:
            return
        plan, category = random.choice(PLANS)
        sum_assured = random.choice((250_000, 500_000, 1_000_000, 2_500_000))
        application = {
            "policyholder_id": random.choice(self.customers),
            "plan_name": plan,
            "category": category,
            "sum_assured": sum_assured,
            "premium_amount": round(sum_assured * random.uniform(0.004, 0.02), 2),
            "premium_frequency": random.choice(PREMIUM_FREQUENCIES),
        }
        created = self.api("POST", "/api/v1/policies", json=application)
        if isinstance(created, dict) and "policy_id" in created:
            self.policies = [created, *self.policies[:19]]

    @task(1)
    def payments(self) -> None:
        self.api("GET", "/api/v1/payments", params={"limit": 20})


class SeniorAgentUser(FieldAgentUser):
    weight = 10
    role = "senior_agent"

    @task(2)
    def review_policy(self) -> None:
        # Senior agents review the applications the team has written before they go into force.
        pending = items(
            self.api(
                "GET",
                "/api/v1/policies",
                params={"status": "pending", "limit": 10},
                name="/api/v1/policies?status=pending",
            )
        )
        if pending:
            policy_id = random.choice(pending)["policy_id"]
            self.api("POST", f"/api/v1/policies/{policy_id}/approve", name="/api/v1/policies/[id]/approve")


class JuniorAgentUser(FieldAgentUser):
    weight = 20
    role = "junior_agent"


# --------------------------------------------------------------------------------------------------
# Customers and support
# --------------------------------------------------------------------------------------------------


class PolicyholderUser(PolicyHolderOrAgentUser):
    weight = 50
    role = "policyholder"

    def on_start(self) -> None:
        self.tickets: list[str] = []
        super().on_start()

    @task(2)
    def payment_history(self) -> None:
        self.api("GET", "/api/v1/payments", params={"limit": 20})

    @task(1)
    def raise_ticket(self) -> None:
        subject, category = random.choice(TICKET_SUBJECTS)
        ticket = {
            "subject": subject,
            "description": f"{subject}. Reference {uuid.uuid4().hex[:10]}.",
            "category": category,
            "priority": random.choice(("low", "medium", "high")),
        }
        created = self.api("POST", "/api/v1/tickets", json=ticket)
        if isinstance(created, dict) and "ticket_id" in created:
            self.tickets = [str(created["ticket_id"]), *self.tickets[:9]]

    @task(1)
    def my_tickets(self) -> None:
        self.api("GET", "/api/v1/tickets", params={"limit": 10})
        if self.tickets:
            ticket_id = random.choice(self.tickets)
            self.api("GET", f"/api/v1/tickets/{ticket_id}", name="/api/v1/tickets/[id]")

    @task(1)
    def request_callback(self) -> None:
        request = {
            "request_type": random.choice(CALLBACK_TYPES),
            "description": "Please call me back about my policy.",
            "urgency_level": random.choice(("low", "medium", "high")),
        }
        self.api("POST", "/api/v1/callbacks", json=request)


class SupportStaffUser(AgentMitraUser):
    weight = 5
    role = "support_staff"

    # The order a ticket moves through the desk.
    NEXT_TICKET_STATUS: ClassVar[dict[str, str]] = {"open": "in_progress", "in_progress": "resolved"}

    def on_start(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.callbacks: list[str] = []
        super().on_start()

    @task(3)
    def ticket_queue(self) -> None:
        self.queue = items(
            self.api(
                "GET", "/api/v1/tickets", params={"status": "open", "limit": 20}, name="/api/v1/tickets?status=open"
            )
        )

    @task(2)
    def view_ticket(self) -> None:
        if self.queue:
            ticket_id = random.choice(self.queue)["ticket_id"]
            self.api("GET", f"/api/v1/tickets/{ticket_id}", name="/api/v1/tickets/[id]")

    @task(2)
    def work_ticket(self) -> None:
        if not self.queue:
            return
        ticket = self.queue.pop(random.randrange(len(self.queue)))
        next_status = self.NEXT_TICKET_STATUS.get(str(ticket.get("status")), "resolved")
        self.api(
            "PUT",
            f"/api/v1/tickets/{ticket['ticket_id']}/status",
            json={"status": next_status},
            name="/api/v1/tickets/[id]/status",
        )

    @task(2)
    def callback_queue(self) -> None:
        pending = self.api(
            "GET",
            "/api/v1/callbacks",
            params={"status": "pending", "limit": 20},
            name="/api/v1/callbacks?status=pending",
        )
        self.callbacks = ids(items(pending), "callback_id")

    @task(1)
    def handle_callback(self) -> None:
        if not self.callbacks:
            return
        callback_id = self.callbacks.pop(random.randrange(len(self.callbacks)))
        self.api(
            "PUT",
            f"/api/v1/callbacks/{callback_id}/status",
            json={"status": random.choice(("assigned", "completed"))},
            name="/api/v1/callbacks/[id]/status",
        )


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _checked_json(response: Any) -> Any:
    """The JSON body of a 2xx response; a 2xx without JSON is a failure, non-2xx already is one."""
    if not response.ok:
        return None
    body = _json(response)
    if body is None:
        response.failure("expected a JSON body")
    return body

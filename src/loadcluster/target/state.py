"""What one demo target remembers: accounts and their tokens, the policy ledger, and the other records.

Each app built by `create_app` owns one `State`, so tests and servers never share records.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from loadcluster.target.records import STORE_LIMIT, Doc, Index, Store, Tallies, now_iso
from loadcluster.target.roles import DEMO_PHONES, ROLES
from loadcluster.target.settings import TargetSettings

_SESSION_LIMIT = 100_000  # tokens remembered; the oldest sessions are forgotten first


@dataclass(frozen=True)
class Account:
    user_id: str
    phone_number: str
    full_name: str
    role: str
    password: str = field(repr=False)
    customer_id: str | None = None  # set for policyholders: the customer record they are

    def profile(self) -> Doc:
        return {
            "user_id": self.user_id,
            "phone_number": self.phone_number,
            "full_name": self.full_name,
            "role": self.role,
            "customer_id": self.customer_id,
        }


class Accounts:
    """Demo accounts, accounts created through the API, and the bearer tokens issued to them."""

    def __init__(self, password: str) -> None:
        self.demo: dict[str, Account] = {}
        self.created: Store[Account] = Store("USR", limit=10_000)
        self._by_phone: dict[str, str] = {}
        self._sessions: OrderedDict[str, str] = OrderedDict()  # access token -> user id
        self._refresh: OrderedDict[str, str] = OrderedDict()  # refresh token -> user id
        for role in ROLES:
            customer = "CUST-0001" if role == "policyholder" else None
            account = Account(
                user_id=self.created.new_id(),
                phone_number=DEMO_PHONES[role],
                full_name=f"Demo {role.replace('_', ' ').title()}",
                role=role,
                password=password,
                customer_id=customer,
            )
            self.demo[account.user_id] = account
            self._by_phone[account.phone_number] = account.user_id

    def get(self, user_id: str) -> Account | None:
        return self.demo.get(user_id) or self.created.get(user_id)

    def all(self) -> Iterator[Account]:
        yield from self.demo.values()
        yield from self.created.oldest()

    def by_phone(self, phone: str) -> Account | None:
        user_id = self._by_phone.get(phone)
        return self.get(user_id) if user_id else None

    def add(self, full_name: str, phone: str, role: str, password: str) -> Account:
        account = Account(self.created.new_id(), phone, full_name, role, password)
        self.created.put(account.user_id, account)
        self._by_phone[phone] = account.user_id
        return account

    def issue(self, account: Account) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        _put_capped(self._sessions, access, account.user_id)
        _put_capped(self._refresh, refresh, account.user_id)
        return access, refresh

    def from_access(self, token: str) -> Account | None:
        user_id = self._sessions.get(token)
        return self.get(user_id) if user_id else None

    def from_refresh(self, token: str) -> Account | None:
        user_id = self._refresh.get(token)
        return self.get(user_id) if user_id else None


def _put_capped(items: OrderedDict[str, str], key: str, value: str) -> None:
    items[key] = value
    if len(items) > _SESSION_LIMIT:
        items.popitem(last=False)


class Ledger:
    """Policies and premium payments, with per-customer and per-agent views."""

    def __init__(self) -> None:
        self.policies: Store[Doc] = Store("POL")
        self.payments: Store[Doc] = Store("PAY")
        self.policies_by_holder = Index()
        self.policies_by_seller = Index()
        self.payments_by_holder = Index()
        self.payments_by_seller = Index()
        self.pending: OrderedDict[str, None] = OrderedDict()  # policy ids awaiting review, oldest first
        self.policy_tally = Tallies()
        self.payment_tally = Tallies()

    def add_policy(self, policy: Doc) -> None:
        policy_id, holder, seller = policy["policy_id"], policy["policyholder_id"], policy["agent_user_id"]
        self.policies.put(policy_id, policy)
        self.policies_by_holder.add(holder, policy_id)
        self.policies_by_seller.add(seller, policy_id)
        if policy["status"] == "pending":
            self.pending[policy_id] = None
            if len(self.pending) > STORE_LIMIT:
                self.pending.popitem(last=False)
        for scope in ("all", f"holder:{holder}", f"seller:{seller}"):
            self.policy_tally[scope].add(policy["premium_amount"], policy["status"])

    def activate(self, policy: Doc, reviewer: str) -> None:
        self.pending.pop(policy["policy_id"], None)
        for scope in ("all", f"holder:{policy['policyholder_id']}", f"seller:{policy['agent_user_id']}"):
            self.policy_tally[scope].move(policy["status"], "active")
        policy.update(status="active", approved_by=reviewer, approved_at=now_iso())

    def pending_newest(self) -> Iterator[Doc]:
        for policy_id in reversed(self.pending):
            policy = self.policies.get(policy_id)
            if policy is not None:
                yield policy

    def add_payment(self, payment: Doc) -> None:
        payment_id, holder, seller = payment["payment_id"], payment["policyholder_id"], payment["agent_user_id"]
        self.payments.put(payment_id, payment)
        self.payments_by_holder.add(holder, payment_id)
        self.payments_by_seller.add(seller, payment_id)
        for scope in ("all", f"holder:{holder}", f"seller:{seller}"):
            self.payment_tally[scope].add(payment["amount"], payment["method"])


@dataclass
class State:
    settings: TargetSettings
    accounts: Accounts
    ledger: Ledger = field(default_factory=Ledger)
    support_tickets: Store[Doc] = field(default_factory=lambda: Store("TKT"))
    tickets: Store[Doc] = field(default_factory=lambda: Store("SR"))
    tickets_by_owner: Index = field(default_factory=Index)
    callbacks: Store[Doc] = field(default_factory=lambda: Store("CB"))
    customers: dict[str, Doc] = field(default_factory=dict)
    agents: dict[str, Doc] = field(default_factory=dict)
    feature_flags: dict[str, bool] = field(default_factory=dict)
    # The app is served by one gevent hub thread and a Counter increment has no yield point, so these
    # need no lock.
    requests: Counter[str] = field(default_factory=Counter)
    logins_by_role: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)


def new_policy(
    state: State,
    *,
    holder: str,
    seller: str,
    plan_name: str,
    category: str,
    sum_assured: float,
    premium_amount: float,
    frequency: str,
) -> Doc:
    """A pending policy document with a fresh id; the caller decides whether to record it."""
    policy_id = state.ledger.policies.new_id()
    return {
        "policy_id": policy_id,
        "policy_number": f"AM{policy_id[4:]}",
        "policyholder_id": holder,
        "agent_user_id": seller,
        "plan_name": plan_name,
        "category": category,
        "sum_assured": sum_assured,
        "premium_amount": premium_amount,
        "premium_frequency": frequency,
        "status": "pending",
        "created_at": now_iso(),
    }


def overview(state: State, scope: str = "all") -> Doc:
    """The ledger totals every dashboard shows; `scope` is "all", "holder:<id>" or "seller:<id>"."""
    return {
        "policies": state.ledger.policy_tally[scope].as_json("by_status"),
        "payments": state.ledger.payment_tally[scope].as_json("by_method"),
        "customers": len(state.customers),
        "agents": len(state.agents),
        "pending_reviews": len(state.ledger.pending) if scope == "all" else None,
    }

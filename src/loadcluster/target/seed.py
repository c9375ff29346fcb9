"""A fresh target's state: the demo accounts plus enough customers, agents and policies that every
role has something to look at from its first request, before any load has created records.
"""

from __future__ import annotations

import os

from loadcluster.target.settings import TargetSettings
from loadcluster.target.state import Accounts, State, new_policy

PASSWORD_ENV = "AGENT_MITRA_PASSWORD"
DEFAULT_PASSWORD = "testpassword"

_FIRST_NAMES = ("Aarav", "Diya", "Ishaan", "Meera", "Rohan")
_LAST_NAMES = ("Sharma", "Iyer", "Reddy", "Banerjee", "Patel")
_TERRITORIES = ("Mumbai", "Pune", "Chennai", "Kolkata", "Delhi", "Bengaluru")
_PLANS = (("Term Shield", "life"), ("Family Health Plus", "health"), ("Motor Secure", "general"))


def seeded_state(settings: TargetSettings) -> State:
    """New state with the seed records; the demo password is read now, so each app may differ."""
    state = State(settings=settings, accounts=Accounts(os.environ.get(PASSWORD_ENV, DEFAULT_PASSWORD)))
    _seed_customers(state)
    _seed_agents(state)
    _seed_policies(state)
    state.feature_flags.update(
        {
            "phone_auth_enabled": True,
            "otp_verification_enabled": True,
            "dashboard_enabled": True,
            "policies_enabled": True,
            "payments_enabled": True,
            "whatsapp_integration_enabled": True,
            "chatbot_enabled": False,
            "callback_management_enabled": True,
            "analytics_enabled": True,
            "data_import_enabled": False,
        }
    )
    return state


def _seed_customers(state: State) -> None:
    names = [f"{first} {last}" for last in _LAST_NAMES for first in _FIRST_NAMES]
    for number, name in enumerate(names, start=1):
        customer_id = f"CUST-{number:04d}"
        state.customers[customer_id] = {
            "customer_id": customer_id,
            "full_name": name,
            "phone_number": f"+9190000{number:05d}",
            "city": _TERRITORIES[number % len(_TERRITORIES)],
        }
    holder = state.accounts.demo[_demo_user_id(state, "policyholder")]
    state.customers["CUST-0001"].update(full_name=holder.full_name, phone_number=holder.phone_number)


def _seed_agents(state: State) -> None:
    field_agents = [_demo_user_id(state, "senior_agent"), _demo_user_id(state, "junior_agent")]
    user_ids: list[str | None] = [*field_agents, *([None] * 6)]
    for number, user_id in enumerate(user_ids, start=1):
        agent_id = f"AGT-{number:04d}"
        account = state.accounts.get(user_id) if user_id else None
        state.agents[agent_id] = {
            "agent_id": agent_id,
            "user_id": user_id,
            "agent_code": f"AM{number:05d}",
            "full_name": account.full_name if account else f"Field Agent {number}",
            "level": "senior" if number % 2 else "junior",
            "territory": _TERRITORIES[number % len(_TERRITORIES)],
            "status": "active",
            # Some start unverified so that the provider admin's approval work has something to do.
            "verification_status": "verified" if number <= 4 else "pending",
        }


def _seed_policies(state: State) -> None:
    sellers = [_demo_user_id(state, "senior_agent"), _demo_user_id(state, "junior_agent")]
    holders = ["CUST-0001"] * 6 + [f"CUST-{n:04d}" for n in range(2, 22)]
    for number, holder in enumerate(holders):
        plan, category = _PLANS[number % len(_PLANS)]
        policy = new_policy(
            state,
            holder=holder,
            seller=sellers[number % 2],
            plan_name=plan,
            category=category,
            sum_assured=500_000.0 + 100_000 * number,
            premium_amount=1_000.0 + 250 * number,
            frequency="annual",
        )
        if number % 3:  # two in three are already in force, the rest await review
            policy["status"] = "active"
        state.ledger.add_policy(policy)


def _demo_user_id(state: State, role: str) -> str:
    return next(a.user_id for a in state.accounts.demo.values() if a.role == role)

"""The closed sets of values that request fields may take; anything else is answered with 400.

Kept together because the support desk's priority scale is shared by both plans, and one place to
read them makes a plan's 400 easy to explain.
"""

from __future__ import annotations

SUPPORT_CATEGORIES = frozenset({"billing", "technical", "account", "general"})
SUPPORT_PRIORITIES = frozenset({"low", "medium", "high", "urgent"})
POLICY_CATEGORIES = frozenset({"life", "health", "general"})
PREMIUM_FREQUENCIES = frozenset({"monthly", "quarterly", "half_yearly", "annual"})
PAYMENT_METHODS = frozenset({"upi", "card", "netbanking", "cash"})
TICKET_STATUSES = frozenset({"open", "in_progress", "resolved", "closed"})
CALLBACK_STATUSES = frozenset({"pending", "assigned", "in_progress", "completed", "cancelled"})
REPORT_TYPES = frozenset({"dashboard", "agent_performance", "policy", "revenue"})

"""The bundled demo target: a real HTTP service that answers every request the seed plans make.

A load cluster needs something to aim at that behaves like the systems the seed plans were written
for, without anyone deploying those systems: the customer-success intake (support forms, Gmail and
WhatsApp webhooks) and the agent-mitra insurance platform (phone + password login, seven roles,
policies, payments, tickets, callbacks). So this service keeps a little in-memory state, issues
bearer tokens and enforces roles, which lets a run prove the plans are correct: a plan that sends a
wrong body, forgets its token or calls an endpoint its role may not use sees 400/401/403 here.

It also counts every request it receives (`GET /_target/stats`), so tests and the CLI can compare
what Locust says it sent with what actually arrived, and it can inject latency and errors to show
what an SLO gate does with a slow or flaky system.

Public API, and the only names this package exports:

- `TargetSettings`: where the target listens and how much latency and how many errors it injects.
- `create_app(settings)`: a fresh Flask app (own state, own Prometheus registry); what unit tests use.
- `serve(settings)`: run it on gevent's WSGI server in a process of its own, until SIGTERM or SIGINT.

Everything else is internal, one job a module: `settings`, `roles`, `vocabulary`, `records`,
`state`, `seed`, `web` (request parsing), `instrumentation` (counting, /_target/, /metrics, fault
injection), `auth`, `customer_success`, `agent_mitra` (a package, one module per kind of work),
`app` (assembly) and `server`.
"""

from __future__ import annotations

from loadcluster.target.app import create_app
from loadcluster.target.server import serve
from loadcluster.target.settings import TargetSettings

__all__ = ["TargetSettings", "create_app", "serve"]

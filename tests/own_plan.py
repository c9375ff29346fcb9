"""A user's own test plan, as a user would write it: two user classes, tags, an optional host and an
optional scenarios.yaml of its own. Shared by the local and the Compose end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOCUSTFILE = """\
from locust import FastHttpUser, HttpUser, constant, tag, task


class ShopUser(FastHttpUser):
    {host}wait_time = constant(0.2)

    @tag("browse")
    @task(3)
    def catalogue(self):
        self.client.get("/shop/items")

    @tag("buy")
    @task
    def basket(self):
        self.client.post("/shop/basket", json={{"item": 1}})


class AdminUser(HttpUser):
    {host}wait_time = constant(0.5)

    @task
    def report(self):
        self.client.get("/admin/report")
"""

CATALOGUE = """\
suites:
  shop:
    locustfile: shop.py
    scenarios:
      quick:
        description: a few users for a few seconds
        users: 4
        spawn_rate: 4
        duration: 4s
        workers: 2
"""

ENDPOINTS = {"GET /shop/items", "POST /shop/basket", "GET /admin/report"}
PATHS = {"/shop/items", "/shop/basket", "/admin/report"}


def write_plan(directory: Path, host: str | None = None, catalogue: bool = False) -> Path:
    """shop.py (and scenarios.yaml) in `directory`; `host` as the classes' attribute when given."""
    directory.mkdir(parents=True, exist_ok=True)
    attribute = f'host = "{host}"\n    ' if host else ""
    (directory / "shop.py").write_text(LOCUSTFILE.format(host=attribute))
    if catalogue:
        (directory / "scenarios.yaml").write_text(CATALOGUE)
    return directory / "shop.py"


def only_summary(results: Path) -> dict[str, Any]:
    (summary,) = (p for p in results.glob("*/summary.json") if not p.parent.is_symlink())
    return dict(json.loads(summary.read_text()))


def endpoints(summary: dict[str, Any]) -> set[str]:
    return {f"{e['method']} {e['name']}" for e in summary["endpoints"]}

"""Reading request bodies and query arguments, and the shapes of common answers.

Every 400 and 404 a route gives for bad input comes from here, so they are worded alike; flask.abort
raises, and the JSON error handler in `instrumentation` turns it into {"detail": ...}.
"""

from __future__ import annotations

from typing import TypeVar

import flask
from flask import request

from loadcluster.target.records import Doc

T = TypeVar("T")


def json_body() -> Doc:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        flask.abort(400, description="request body must be a JSON object")
    return body


def required_str(body: Doc, name: str, allowed: frozenset[str] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        flask.abort(400, description=f"'{name}' is required and must be a non-empty string")
    if allowed is not None and value not in allowed:
        flask.abort(400, description=f"'{name}' must be one of {sorted(allowed)}")
    return value


def positive_number(body: Doc, name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        flask.abort(400, description=f"'{name}' must be a positive number")
    return float(value)


def int_arg(name: str, default: int, low: int = 1, high: int = 100) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        flask.abort(400, description=f"query parameter '{name}' must be an integer")
    if not low <= value <= high:
        flask.abort(400, description=f"query parameter '{name}' must be between {low} and {high}")
    return value


def found(record: T | None, what: str) -> T:
    if record is None:
        flask.abort(404, description=f"{what} not found")
    return record


def listing(items: list[Doc]) -> Doc:
    return {"items": items, "count": len(items)}

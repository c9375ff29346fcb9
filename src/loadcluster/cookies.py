"""A CookieJar for Locust's FastHttpSession that skips its work when there is none (worker_tuning).

`http.cookiejar.CookieJar` runs its policy code under a lock (a pure-Python RLock once gevent has
patched threading) twice a request, even when it holds no cookie and the response sets none, as in
most API tests. This jar skips exactly those two cases and is the standard jar otherwise. It imports no
Locust, so it can be checked against the standard jar in any process.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any


class QuickCookieJar(CookieJar):
    """A CookieJar that does nothing, quickly, when there is nothing to do."""

    def add_cookie_header(self, request: Any) -> None:
        if self._cookies:  # type: ignore[attr-defined]  # CookieJar's own store
            super().add_cookie_header(request)

    def extract_cookies(self, response: Any, request: Any) -> None:
        headers = response.info()
        if headers.get_all("Set-Cookie") or headers.get_all("Set-Cookie2"):
            super().extract_cookies(response, request)

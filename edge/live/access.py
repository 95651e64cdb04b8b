"""Who may see the live page: whoever holds its token, and nobody else.

The token is 32 random bytes (URL-safe base64), made anew each time the page is opened. It
comes once in the address `anpr-edge camera live` prints (`/?token=…`); the server answers that
first request with a cookie holding it (HttpOnly: no script reads it; SameSite=Strict: no other
site's page can make the browser send it) and sends the browser on to the same page without the
token in its address, so it stays out of the history. Every request after that carries the
cookie. A request without a token is answered 401, one with a wrong token 403; neither gets
a byte of the page. Tokens are compared in constant time (`hmac.compare_digest`), so the time
an answer takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Literal

COOKIE = "anpr_live"
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class Verdict:
    status: Literal[200, 401, 403]
    from_query: bool = False  # the token came in the address: set the cookie, drop it from there

    @property
    def allowed(self) -> bool:
        return self.status == 200


class TokenGuard:
    def __init__(self, token: str | None = None):
        # None: the page is closed, nothing is let in
        self._token: bytes | None = None if token is None else token.encode("ascii")

    def replace(self, token: str | None) -> None:
        """A new session's token; the previous one stops working at once."""
        self._token = None if token is None else token.encode("ascii")

    def check(self, query_token: str | None, cookie_header: str | None) -> Verdict:
        expected = self._token
        offered = query_token if query_token is not None else _cookie_token(cookie_header)
        if offered is None or offered == "":
            return Verdict(401)
        if expected is None or not hmac.compare_digest(offered.encode("utf-8"), expected):
            return Verdict(403)
        return Verdict(200, from_query=query_token is not None)

    def cookie(self) -> str:
        """The Set-Cookie value for the current token (valid for this browser session only)."""
        token = "" if self._token is None else self._token.decode("ascii")
        return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"


def _cookie_token(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value

"""The token guard: 401 without a token, 403 with a wrong one, the cookie after the first load."""

from __future__ import annotations

from edge.live.access import COOKIE, TokenGuard, new_token


def test_no_token_is_401_and_a_wrong_one_403():
    guard = TokenGuard(new_token())
    assert guard.check(None, None).status == 401
    assert guard.check("", None).status == 401
    assert guard.check(None, "other=1").status == 401
    assert guard.check("nope", None).status == 403
    assert guard.check(None, f"{COOKIE}=nope").status == 403
    assert guard.check("é", None).status == 403  # not ASCII: refused, not an exception
    assert guard.check(None, 'broken="cookie').status == 401


def test_the_token_in_the_address_once_then_the_cookie():
    token = new_token()
    guard = TokenGuard(token)
    first = guard.check(token, None)
    assert first.allowed and first.from_query
    cookie = guard.cookie()
    assert cookie.startswith(f"{COOKIE}={token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    later = guard.check(None, f"theme=dark; {COOKIE}={token}")
    assert later.allowed and not later.from_query


def test_a_new_token_retires_the_old_one_and_a_closed_page_lets_nobody_in():
    old, new = new_token(), new_token()
    assert old != new and len(old) >= 43  # 32 random bytes
    guard = TokenGuard(old)
    guard.replace(new)
    assert guard.check(old, None).status == 403
    assert guard.check(new, None).allowed
    guard.replace(None)
    assert guard.check(new, None).status == 403

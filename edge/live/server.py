"""The live page's HTTP server: the standard library's `ThreadingHTTPServer`, GET only.

Why no web framework: the page is a handful of GET routes for one or two technicians' browsers
on a loopback address (or one configured interface), behind a token. `http.server` ships with
Python (nothing to install or keep up to date on the unit), gives each request a thread of its
own (a slow browser never holds up another), and its known weaknesses are closed here: every
request is checked against the token before anything is read or rendered; only GET is
answered (other methods 405); each connection's socket has a timeout (`REQUEST_TIMEOUT_S`), so a
client that stops talking ties up a thread for seconds, not forever; request lines are not
logged (the first one carries the token); errors in a handler are logged with their traceback,
counted, and answered 500 without detail.

Routes: `/` (the page), `/page.js`, `/page.css` (package resources, edge/live/static), `/frame.jpg`
(the newest frame rendered, edge.live.view) and `/state.json` (edge.live.state).
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.live.access import TokenGuard
from edge.live.view import Renderer
from edge.stages import Counters

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
POLL_S = 0.5  # how soon serve_forever notices a shutdown request
SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # nothing of the page stays in a browser's cache
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}
STATIC = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}


def static_file(name: str) -> bytes:
    return files("edge.live").joinpath("static", name).read_bytes()


@dataclass(frozen=True)
class PageContent:
    """What the routes serve, given to the server by the unit's part (edge.live.page)."""

    guard: TokenGuard
    renderer: Renderer
    state: Callable[[], dict[str, Any]]
    counters: Counters


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True  # a browser's kept-alive connection never holds up the unit's stop
    block_on_close = False
    allow_reuse_address = True  # reopened within a minute of closing (TIME_WAIT)

    def __init__(self, address: tuple[str, int], content: PageContent):
        self.content = content
        self.statics = {path: (static_file(name), kind) for path, (name, kind) in STATIC.items()}
        if ":" in address[0]:  # live.bind = "::1" or another IPv6 address
            self.address_family = socket.AF_INET6
        super().__init__(address, LiveHandler)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": POLL_S}, name="live", daemon=True
        )
        self.thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop answering (returns within about POLL_S) and close the listening socket."""
        if self.thread is not None:
            self.shutdown()
            self.thread.join(timeout_s)
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a browser that hung up: nothing to log
        self.content.counters.error("live")
        log.exception("live page: a request from %s failed", client_address[0])


class LiveHandler(BaseHTTPRequestHandler):
    server: LiveServer
    protocol_version = "HTTP/1.1"
    server_version = "anpr-edge"
    sys_version = ""
    timeout = REQUEST_TIMEOUT_S

    def do_GET(self) -> None:
        content = self.server.content
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        token = query.get("token", [None])[-1]
        verdict = content.guard.check(token, self.headers.get("Cookie"))
        if not verdict.allowed:
            message = "a token is needed" if verdict.status == 401 else "wrong or expired token"
            self._send(
                verdict.status, f"{message}: run anpr-edge camera live\n".encode(), "text/plain"
            )
            return
        if verdict.from_query:  # the cookie from now on, and the token out of the address bar
            self._send(
                HTTPStatus.SEE_OTHER, b"", "text/plain",
                {"Location": url.path or "/", "Set-Cookie": content.guard.cookie()},
            )  # fmt: skip
            return
        try:
            self._route(url.path, content)
        except ConnectionError:  # the browser went away mid-answer (a page closed): not a fault
            self.close_connection = True
        except Exception:
            content.counters.error("live")
            log.exception("live page: GET %s failed", url.path)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n", "text/plain")

    def _route(self, path: str, content: PageContent) -> None:
        if path in self.server.statics:
            body, kind = self.server.statics[path]
            self._send(HTTPStatus.OK, body, kind)
        elif path == "/frame.jpg":
            view = content.renderer.view()
            if view is None:  # nothing read yet, or the page has only just asked
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"no frame yet\n", "text/plain",
                           {"Retry-After": "1"})  # fmt: skip
            else:
                self._send(HTTPStatus.OK, view.jpeg, "image/jpeg",
                           {"X-Frame-Index": str(view.frame_index)})  # fmt: skip
        elif path == "/state.json":
            body = json.dumps(content.state(), separators=(",", ":")).encode()
            self._send(HTTPStatus.OK, body, "application/json")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def _refuse_method(self) -> None:
        self.close_connection = True  # its body, if any, is never read: not a next request
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"read-only: GET only\n", "text/plain",
                   {"Allow": "GET"})  # fmt: skip

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Not the request lines (the first carries the token): only what goes wrong."""

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("live page: " + format, *args)

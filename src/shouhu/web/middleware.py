"""One middleware for security headers and the request's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shouhu.core.i18n import LANGUAGES, negotiate, set_language

LANGUAGE_COOKIE = "shouhu_lang"

ErrorRenderer = Callable[[Request, Exception], Awaitable[Response]]

# ASVS 14.4: no inline script anywhere, no framing, no sniffing, no referrer leaks.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def _language_from(scope: Scope) -> str:
    cookie_header = ""
    accept = None
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie_header = value.decode("latin-1")
        elif name == b"accept-language":
            accept = value.decode("latin-1")
    for part in cookie_header.split(";"):
        key, _, val = part.strip().partition("=")
        if key == LANGUAGE_COOKIE and val in LANGUAGES:
            return val
    return negotiate(accept)


class SecurityMiddleware:
    """Sets the language for the request and adds the security headers to every response."""

    def __init__(self, app: ASGIApp, on_error: ErrorRenderer) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_language(_language_from(scope))

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not scope["path"].startswith("/static/"):
                    # Pages and API answers may hold personal data: never cache them.
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Answer here rather than let the error reach the server, whose log would print
            # its message and traceback, which may hold personal data.
            if started:
                raise
            response = await self.on_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)

"""Errors as pages for people and RFC 9457 problem details for the API; nothing leaks."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shouhu.core.errors import AuthenticationError, DomainError
from shouhu.core.i18n import N_, gettext
from shouhu.web.deps import PageAuthError, PasswordChangeRequiredError
from shouhu.web.templating import render
from shouhu.web.validation_messages import field_message

log = logging.getLogger("shouhu.web")

TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Invalid input"),
    500: N_("Something went wrong"),
}
GENERIC = {
    404: N_("There is nothing here, or you may not see it. Check the address or go back."),
    405: N_("This address does not accept that kind of request."),
    500: N_("The error has been logged. Try again; if it persists, tell your administrator."),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(
    status: int,
    detail: str,
    *,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An application/problem+json response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": f"https://shouhu.invalid/problems/{code}",
        "title": gettext(TITLES.get(status, N_("Error"))),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": gettext(TITLES.get(status, N_("Error"))), "message": message},
        status=status,
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    """A service refused: say what and where, in the reader's language."""
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    message = gettext(exc.message, **exc.params)
    if _is_api(request):
        errors = [{"field": exc.field, "message": message}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        return problem(exc.status_code, message, code=exc.code, errors=errors, headers=headers)
    if isinstance(exc, PasswordChangeRequiredError):
        return RedirectResponse("/account/password", status_code=303)
    if isinstance(exc, PageAuthError):
        return render(
            request,
            "accounts/sign_in.html",
            {"next": request.url.path, "error": None, "notice": message},
            status=401,
        )
    return _error_page(request, exc.status_code, message)


async def validation_error(request: Request, exc: Exception) -> Response:
    """Malformed input: name each field at fault."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p not in {"body", "query", "path"}),
            "message": field_message(dict(err)),
        }
        for err in exc.errors()
    ]
    if _is_api(request):
        return problem(
            422, gettext("The request has invalid fields."), code="invalid", errors=errors
        )
    return _error_page(request, 422, "; ".join(f"{e['field']}: {e['message']}" for e in errors))


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405…) with generic wording."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    message = gettext(GENERIC.get(exc.status_code, TITLES.get(exc.status_code, N_("Error"))))
    if _is_api(request):
        return problem(exc.status_code, message, code="http_error")
    return _error_page(request, exc.status_code, message)


async def unstorable_input(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    """The database refused a value (e.g. a NUL byte on PostgreSQL): the input's fault."""
    log.warning("database refused input on %s %s", request.method, request.url.path)
    message = gettext("The input contains characters or values that cannot be stored.")
    if _is_api(request):
        return problem(422, message, code="invalid")
    return _error_page(request, 422, message)


async def clashing_change(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    """A constraint refused a write that raced another (two people deciding at once)."""
    log.warning("constraint refused a change on %s %s", request.method, request.url.path)
    message = gettext(
        "Someone changed the same thing at the same moment. Reload the page and try again."
    )
    if _is_api(request):
        return problem(409, message, code="conflict")
    return _error_page(request, 409, message)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Anything else: log the type only (messages may hold personal data), answer 500."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    message = gettext(GENERIC[500])
    if _is_api(request):
        response: Response = problem(500, message, code="internal")
    else:
        response = _error_page(request, 500, message)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DataError, unstorable_input)
    app.add_exception_handler(IntegrityError, clashing_change)

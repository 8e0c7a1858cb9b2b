"""Jinja2 rendering with autoescape, translations, CSRF tokens and the base layout."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from shouhu.accounts.roles import KIND_LABELS, ORG_TYPE_LABELS, ROLE_LABELS, Permission, roles_with
from shouhu.core.i18n import LANGUAGES, current_language, gettext
from shouhu.core.settings import Settings
from shouhu.web.deps import pre_session_cookie_name

TEMPLATE_PACKAGES = (
    "shouhu.web",
    "shouhu.accounts",
    "shouhu.registry",
    "shouhu.screening",
    "shouhu.onestop",
)


def roles_may(role_names: Iterable[str], permission: str) -> bool:
    """Whether any of these roles holds the permission (the layout's navigation asks)."""
    return bool(set(role_names) & roles_with(Permission(permission)))


def list_separator() -> str:
    """Between the items of a list in running text: the enumeration comma in Chinese."""
    return "、" if current_language() == "zh_CN" else ", "


@cache
def environment() -> Environment:
    """The one Jinja2 environment; templates come from each domain package."""
    env = Environment(
        loader=ChoiceLoader([PackageLoader(name, "templates") for name in TEMPLATE_PACKAGES]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    env.globals["_"] = gettext
    env.globals["languages"] = LANGUAGES
    env.globals["role_labels"] = ROLE_LABELS
    env.globals["org_type_labels"] = ORG_TYPE_LABELS
    env.globals["kind_labels"] = KIND_LABELS
    env.globals["roles_may"] = roles_may
    env.globals["sep"] = list_separator
    return env


def csrf_token(request: Request) -> str:
    """The token forms on this page must send: the session's, or a pre-session one."""
    token = getattr(request.state, "csrf_token", None)
    if token:
        return str(token)
    settings: Settings = request.app.state.settings
    existing = request.cookies.get(pre_session_cookie_name(settings))
    if existing:
        request.state.csrf_token = existing
        return existing
    fresh = secrets.token_urlsafe(32)
    request.state.csrf_token = fresh
    request.state.new_pre_session_token = fresh
    return fresh


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """Render a page with the layout's context (user, language, CSRF token)."""
    settings: Settings = request.app.state.settings
    values: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "lang": current_language(),
        "csrf_token": csrf_token(request),
        "demo": settings.env == "demo",
        "path": request.url.path,
    }
    values.update(context or {})
    response = HTMLResponse(environment().get_template(template).render(values), status_code=status)
    fresh = getattr(request.state, "new_pre_session_token", None)
    if fresh:
        response.set_cookie(
            pre_session_cookie_name(settings),
            fresh,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )
    return response

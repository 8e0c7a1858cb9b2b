"""The application factory."""

from __future__ import annotations

import time
from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import shouhu
from shouhu.accounts import admin_pages
from shouhu.accounts import api as accounts_api
from shouhu.accounts import pages as accounts_pages
from shouhu.core.audit import pages as audit_pages
from shouhu.core.runtime import Runtime
from shouhu.core.settings import Settings
from shouhu.health import api as health_api
from shouhu.onestop import api as onestop_api
from shouhu.onestop import evidence_api as onestop_evidence_api
from shouhu.onestop import evidence_pages as onestop_evidence_pages
from shouhu.onestop import handoff_api as onestop_handoff_api
from shouhu.onestop import handoff_pages as onestop_handoff_pages
from shouhu.onestop import pages as onestop_pages
from shouhu.onestop import performance_api as onestop_performance_api
from shouhu.onestop import performance_pages as onestop_performance_pages
from shouhu.onestop import session_api as onestop_session_api
from shouhu.onestop import session_pages as onestop_session_pages
from shouhu.onestop import site_api as onestop_site_api
from shouhu.onestop import site_pages as onestop_site_pages
from shouhu.onestop import support_api as onestop_support_api
from shouhu.onestop import support_pages as onestop_support_pages
from shouhu.registry import api as registry_api
from shouhu.registry import duplicate_pages
from shouhu.registry import pages as registry_pages
from shouhu.screening import api as screening_api
from shouhu.screening import (
    batch_api,
    batch_pages,
    certificate_api,
    compliance_api,
    compliance_pages,
    match_api,
    recheck_api,
    recheck_pages,
)
from shouhu.screening import pages as inquiry_pages
from shouhu.web import errors, site_pages
from shouhu.web.middleware import SecurityMiddleware

API_DESCRIPTION = """\
The Shouhu API for the HR and education systems that integrate with it.

Authenticate with `Authorization: Bearer <token>`; a token is created for a user by an
administrator (`shouhu tokens create`) or by the user on their account page, and is shown once.
Errors are RFC 9457 problem details (`application/problem+json`) naming the field at fault.
"""


def api_routers() -> tuple[APIRouter, ...]:
    """The API's routers, served under /api/v1, in the order requests are matched against them.

    The inquiries first of all: they are the traffic that peaks (no path overlaps).
    """
    return (
        screening_api.router,
        accounts_api.router,
        registry_api.router,
        batch_api.router,
        match_api.router,
        recheck_api.router,
        certificate_api.api,
        compliance_api.router,
        onestop_site_api.router,
        onestop_api.router,
        onestop_session_api.router,
        onestop_evidence_api.router,
        onestop_support_api.router,
        onestop_handoff_api.router,
        onestop_performance_api.router,
    )


def page_routers() -> tuple[APIRouter, ...]:
    """The pages' routers, matched after the API's."""
    return (
        site_pages.router,
        accounts_pages.router,
        admin_pages.router,
        audit_pages.router,
        registry_pages.router,
        duplicate_pages.router,
        inquiry_pages.router,
        batch_pages.router,
        inquiry_pages.approvals,
        inquiry_pages.matches,
        compliance_pages.router,
        recheck_pages.notices,
        recheck_pages.requests,
        recheck_pages.reviews,
        onestop_site_pages.router,
        onestop_pages.router,
        onestop_session_pages.router,
        onestop_evidence_pages.router,
        onestop_support_pages.router,
        onestop_handoff_pages.router,
        onestop_performance_pages.router,
        certificate_api.page,
    )


def create_app(
    runtime: Runtime | None = None,
    *,
    settings: Settings | None = None,
    sessions: sessionmaker[Session] | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """Build the app from a started runtime, or from explicit parts (tests)."""
    app = FastAPI(
        title="Shouhu API",
        version=shouhu.__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from CDNs, which the CSP forbids
        redoc_url=None,
    )
    app.state.settings = settings or (runtime.settings if runtime else None)
    app.state.sessions = sessions or (runtime.sessions if runtime else None)
    app.state.engine = engine or (runtime.engine if runtime else None)
    app.state.master_key = runtime.master_key if runtime else None
    app.state.keyring_checked_at = time.monotonic()
    if app.state.settings is None or app.state.sessions is None or app.state.engine is None:
        raise ValueError("create_app needs a runtime or settings, sessions and engine")
    app.add_middleware(SecurityMiddleware, on_error=errors.unexpected_error)
    errors.install(app)
    static_dir = resources.files("shouhu.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    app.include_router(health_api.router)
    for router in api_routers():
        app.include_router(router, prefix="/api/v1")
    for router in page_routers():
        app.include_router(router)
    return app

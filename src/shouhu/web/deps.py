"""Request dependencies: the unit of work, and the authorisation every route must declare.

Each route depends on exactly one `Authorization` object (a page or API permission, the
sign-in flow, or `Public`); tests walk the routes and fail on any route without one.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Final, Literal
from weakref import WeakKeyDictionary

import anyio
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.authentication import NextStep, next_step
from shouhu.accounts.models import User, WebSession
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.accounts.sessions import ActiveSession, load_session
from shouhu.accounts.tokens import bearer_principal
from shouhu.accounts.users import principal_for
from shouhu.core.crypto.keyring import refresh_if_rotated
from shouhu.core.database import READ_ONLY, transaction
from shouhu.core.errors import AuthenticationError, ForbiddenError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Declares the scheme in the OpenAPI document; refusals stay our own problem+json 401.
_bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `shh_…`")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def session_cookie_name(settings: Settings) -> str:
    """`__Host-` requires Secure; plain-HTTP development uses an unprefixed name."""
    return "__Host-shouhu_session" if settings.secure_cookies else "shouhu_session"


def pre_session_cookie_name(settings: Settings) -> str:
    """The cookie that carries the CSRF token of forms shown before sign-in."""
    return "__Host-shouhu_presession" if settings.secure_cookies else "shouhu_presession"


def get_settings_dep(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def _keyring_refresh_due(request: Request) -> bool:
    """Whether this request should check for a rotated keyring (every few seconds)."""
    state = request.app.state
    settings: Settings = state.settings
    due = time.monotonic() - state.keyring_checked_at >= settings.keyring_refresh_seconds
    return state.master_key is not None and due


def _refresh_keyring(request: Request, session: Session) -> None:
    state = request.app.state
    state.keyring_checked_at = time.monotonic()
    refresh_if_rotated(session, state.master_key)


# Request transactions one process runs at once; the others wait in the event loop, holding
# no thread. A transaction holds the SQLite write lock (or a pooled connection and the audit
# chain head) across several thread-pool hops: with more of them than threads (40) or pooled
# connections, the holder waits for a thread or a connection that its waiters hold, a stall
# until busy_timeout or pool_timeout (bench/inquiry_load.py, 50 clients: 10 s and 30 s, then
# 500s). SQLite has one writer: a second transaction would only sleep in SQLite's busy handler.
# PostgreSQL overlaps one request's commit (its WAL flush) with the others' work; beyond four,
# the requests waiting for the audit chain head take the GIL from the one holding it (two
# processes, 50 clients: 2, 4, 8, 16 slots gave 107, 116, 108, 91 inquiries/s).
TRANSACTION_SLOTS: Final = {"sqlite": 1, "postgresql": 4}
_slots: RunVar[WeakKeyDictionary[object, anyio.Semaphore]] = RunVar("shouhu_transaction_slots")


def _transaction_slots(request: Request) -> anyio.Semaphore:
    """The app's semaphore in this event loop (TestClient runs one loop per client)."""
    by_app = _slots.get(None)
    if by_app is None:
        by_app = WeakKeyDictionary()
        _slots.set(by_app)
    slots = by_app.get(request.app)
    if slots is None:
        engine: Engine = request.app.state.engine
        slots = by_app[request.app] = anyio.Semaphore(TRANSACTION_SLOTS.get(engine.name, 4))
    return slots


@contextmanager
def _request_transaction(request: Request, *, refresh_keyring: bool) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with transaction(factory) as session:
        if refresh_keyring:
            _refresh_keyring(request, session)
        yield session


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent."""
    refresh = _keyring_refresh_due(request)
    async with (
        _transaction_slots(request),
        _entered_here_or_in_threadpool(
            _request_transaction(request, refresh_keyring=refresh), here=not refresh
        ) as session,
    ):
        yield session


@asynccontextmanager
async def _entered_here_or_in_threadpool(
    manager: AbstractContextManager[Session], *, here: bool
) -> AsyncIterator[Session]:
    """FastAPI's `contextmanager_in_threadpool`, but entered in the event loop when `here`.

    A session begins without touching the database (it connects at its first statement), so
    unless the keyring check is due, entering costs no I/O and need not take a thread-pool
    hop of its own. The exit commits: always in a thread, shielded from cancellation, and
    without a capacity limit (a commit waiting for a thread that its waiters hold would stall).
    """
    session = manager.__enter__() if here else await run_in_threadpool(manager.__enter__)
    exit_limiter = anyio.CapacityLimiter(1)
    try:
        yield session
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            suppressed = await anyio.to_thread.run_sync(
                manager.__exit__, type(exc), exc, exc.__traceback__, limiter=exit_limiter
            )
        if not suppressed:
            raise
    else:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(manager.__exit__, None, None, None, limiter=exit_limiter)


@contextmanager
def read_only_db(request: Request) -> Iterator[Session]:
    """A session for long reads that never write: no write lock held while it runs.

    The counterpart of `core.database.read_only_session` for the web: it comes from the
    application's own session factory, so it reads the database the requests use.
    """
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        # Set on the connection before its transaction begins: SQLite then begins a plain
        # (deferred) read instead of BEGIN IMMEDIATE.
        session.connection(execution_options={READ_ONLY: True})
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (a proxy must set it via uvicorn)."""
    return request.client.host if request.client else None


class PageAuthError(AuthenticationError):
    """Anonymous (or partly signed-in) access to a page; rendered as the sign-in page."""


class PasswordChangeRequiredError(ForbiddenError):
    """The user must change a temporary password before anything else."""


class CsrfError(ForbiddenError):
    """A form arrived without the token of the session that showed it."""


async def submitted_csrf_token(request: Request) -> str | None:
    """The CSRF token a state-changing request carries (header for htmx, else form field)."""
    if request.method not in UNSAFE_METHODS:
        return None
    supplied = request.headers.get("x-csrf-token")
    if supplied is None:
        form = await request.form()
        value = form.get("csrf_token")
        supplied = value if isinstance(value, str) else None
    return supplied


SubmittedCsrf = Annotated[str | None, Depends(submitted_csrf_token)]


def _check_csrf(request: Request, supplied: str | None, expected: str) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError,
    # hence a 500), and a token we issued is ASCII, so such a value simply does not match.
    if not supplied or not expected or not hmac.compare_digest(_utf8(supplied), _utf8(expected)):
        raise CsrfError("The form has expired. Reload the page and try again.")


def _utf8(value: str) -> bytes:
    # surrogatepass: a form field may carry lone surrogates, which strict UTF-8 refuses.
    return value.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class LayoutUser:
    """What the page layout shows of the signed-in user."""

    username: str
    role_names: tuple[str, ...]
    # False during the sign-in steps: the layout then offers sign-out and nothing else.
    complete: bool


@dataclass(frozen=True)
class SignedIn:
    """A completed browser session: the user, their principal and the session row."""

    user: User
    principal: Principal
    session_row: WebSession


def _active_session(request: Request, db: Session, settings: Settings) -> ActiveSession | None:
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        return None
    active = load_session(db, token=token, settings=settings)
    if active is not None:
        request.state.csrf_token = active.record.csrf_token
        # A plain copy for the layout: error pages render after the transaction has ended.
        request.state.user = LayoutUser(
            username=active.user.username,
            role_names=tuple(active.user.role_names),
            complete=active.complete,
        )
    return active


class Authorization:
    """Base of the dependencies that decide who may call a route."""

    kind: Literal["public", "page", "api", "sign_in_flow"]
    permission: Permission | None = None


class PagePermission(Authorization):
    """A page for signed-in users holding a permission (CSRF checked on unsafe methods)."""

    kind = "page"

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(
        self, request: Request, db: Db, settings: SettingsDep, supplied: SubmittedCsrf
    ) -> SignedIn:
        """Resolve the session, or refuse with 401 (sign in) or 403."""
        active = _active_session(request, db, settings)
        if active is None or next_step(active.user, active.record) not in {
            NextStep.DONE,
            NextStep.CHANGE_PASSWORD,
        }:
            raise PageAuthError("Please sign in to continue.")
        principal = principal_for(active.user, "web", client_address(request))
        _check_csrf(request, supplied, active.record.csrf_token)
        if active.user.must_change_password and request.url.path != "/account/password":
            raise PasswordChangeRequiredError("Change your temporary password first.")
        assert self.permission is not None  # noqa: S101 - set in __init__
        if not allows(principal, self.permission):
            raise ForbiddenError("You do not have permission to open this page.")
        return SignedIn(user=active.user, principal=principal, session_row=active.record)


def _declared_query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query_names(sub)
    return names


def _refuse_unknown_query_parameters(request: Request) -> None:
    # An integration that misspells a filter (`sinse=`) must hear so, not get everything.
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params) - _declared_query_names(dependant))
    if unknown:
        raise ValidationFailedError(
            "Unknown query parameter {name}.", field=unknown[0], name=unknown[0]
        )


class ApiPermission(Authorization):
    """An API route for a bearer token whose user holds a permission."""

    kind = "api"

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, db: Db, bearer: BearerCredentials) -> Principal:
        """Authenticate `Authorization: Bearer …` and check the permission."""
        _refuse_unknown_query_parameters(request)
        principal = (
            bearer_principal(db, bearer.credentials.strip(), source_address=client_address(request))
            if bearer
            else None
        )
        if principal is None:
            raise AuthenticationError("A valid bearer token is required.")
        assert self.permission is not None  # noqa: S101 - set in __init__
        if not allows(principal, self.permission):
            raise ForbiddenError("This token's user lacks the permission for this operation.")
        return principal


@dataclass(frozen=True)
class FlowState:
    """The sign-in flow's view of the request: a partial session if there is one."""

    active: ActiveSession | None


class SignInFlow(Authorization):
    """Sign-in steps: open to a partial session (MFA, enrolment, notice) or to anyone."""

    kind = "sign_in_flow"

    def __call__(
        self, request: Request, db: Db, settings: SettingsDep, supplied: SubmittedCsrf
    ) -> FlowState:
        """Load a partial session if present and check the form token."""
        active = _active_session(request, db, settings)
        if active is not None:
            _check_csrf(request, supplied, active.record.csrf_token)
        else:
            pre_token = request.cookies.get(pre_session_cookie_name(settings), "")
            _check_csrf(request, supplied, pre_token)
        return FlowState(active=active)


class Public(Authorization):
    """Open to anyone: health checks, certificate verification, static assets."""

    kind = "public"

    def __call__(self) -> None:
        """Nothing to check."""


Flow = Annotated[FlowState, Depends(SignInFlow())]
PUBLIC = Depends(Public())

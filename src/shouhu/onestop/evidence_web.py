"""What the evidence API and pages share: the store, short transactions, streaming guards.

An upload of a 2 GB recording takes minutes. The request transaction (`web.deps.get_db`)
would hold a transaction slot, and on SQLite the write lock, for all of it, so the upload
routes authenticate and check in one short transaction, stream the body with no transaction
open, and attach the stored file in a second short one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from shouhu.accounts.authentication import NextStep, next_step
from shouhu.accounts.policies import allows
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction
from shouhu.core.errors import ForbiddenError, ValidationFailedError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.onestop.blobs import BlobStore, BlobTooLargeError
from shouhu.web.deps import (
    ApiPermission,
    BearerCredentials,
    PageAuthError,
    PagePermission,
    PasswordChangeRequiredError,
    SettingsDep,
    SignedIn,
    _active_session,
    _transaction_slots,
    client_address,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from shouhu.core.settings import Settings

T = TypeVar("T")


class FileTooLargeError(ValidationFailedError):
    """The file is over `SHOUHU_EVIDENCE_MAX_BYTES`; nothing was stored."""

    status_code = 413
    code = "too_large"


def store_for(request: Request) -> BlobStore:
    """The evidence store of the application's data directory."""
    settings: Settings = request.app.state.settings
    return BlobStore(settings.data_dir / "evidence")


def max_bytes(request: Request) -> int:
    """The largest evidence file one upload may store."""
    settings: Settings = request.app.state.settings
    return settings.evidence_max_bytes


def _run(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with transaction(factory) as session:
        return work(session)


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work` in one short transaction of its own, in a worker thread."""
    factory: sessionmaker[Session] = request.app.state.sessions
    async with _transaction_slots(request):
        return await run_in_threadpool(_run, factory, work)


def upload_refused(exc: Exception) -> ValidationFailedError:
    """The domain error for an upload the store or the stream refused."""
    if isinstance(exc, BlobTooLargeError):
        return FileTooLargeError(
            N_("The file is larger than the {limit} bytes allowed."),
            field="file",
            limit=exc.max_bytes,
        )
    return ValidationFailedError(
        "The upload is not readable: {problem}", field="file", problem=str(exc)
    )


class StreamingApiPermission(ApiPermission):
    """`ApiPermission` in a short transaction of its own, for a route that streams its body."""

    async def __call__(  # type: ignore[override]
        self, request: Request, bearer: BearerCredentials
    ) -> Principal:
        """Authenticate and check the permission, then end the transaction."""
        return await in_transaction(
            request, lambda db: ApiPermission.__call__(self, request, db, bearer)
        )


class StreamingPagePermission(PagePermission):
    """`PagePermission` for a streamed multipart form, in a short transaction of its own.

    The CSRF token is a field of the form, which is read only as it streams in: the route
    checks it (`check_form_csrf`) before the stored file is attached to anything.
    """

    async def __call__(  # type: ignore[override]
        self, request: Request, settings: SettingsDep
    ) -> SignedIn:
        """Resolve the session and check the permission, then end the transaction."""
        return await in_transaction(request, lambda db: self._signed_in(request, db, settings))

    def _signed_in(self, request: Request, db: Session, settings: Settings) -> SignedIn:
        # PagePermission's checks, less the CSRF token (see the class docstring).
        active = _active_session(request, db, settings)
        if active is None or next_step(active.user, active.record) not in {
            NextStep.DONE,
            NextStep.CHANGE_PASSWORD,
        }:
            raise PageAuthError("Please sign in to continue.")
        if active.user.must_change_password:
            raise PasswordChangeRequiredError("Change your temporary password first.")
        principal = principal_for(active.user, "web", client_address(request))
        assert self.permission is not None  # noqa: S101 - set in __init__
        if not allows(principal, self.permission):
            raise ForbiddenError("You do not have permission to open this page.")
        return SignedIn(user=active.user, principal=principal, session_row=active.record)

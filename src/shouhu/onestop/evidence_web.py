"""What the evidence API and pages share: the store, short transactions, streaming guards.

An upload of a 2 GB recording takes minutes. The request transaction (`web.deps.get_db`)
would hold a transaction slot, and on SQLite the write lock, for all of it, so the upload
routes authenticate and check in one short transaction, stream the body with no transaction
open, and attach the stored file in a second short one. Downloads and exports do the same:
access is checked in one short transaction, the file is verified in full (about 1 s per GB)
with no transaction open, and the audit event (or the alert) is written in a second one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shouhu.accounts.authentication import NextStep, next_step
from shouhu.accounts.policies import allows
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction
from shouhu.core.errors import ForbiddenError, ValidationFailedError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.onestop import evidence, evidence_export
from shouhu.onestop.blobs import BlobStore, BlobTooLargeError, TamperedBlobError
from shouhu.onestop.streaming import VerifiedBlobResponse, content_disposition
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


def _block(
    principal: Principal,
    case_id: uuid.UUID,
    ticket: evidence.DownloadTicket,
    error: TamperedBlobError,
    db: Session,
) -> None:
    raise evidence.block_download(db, actor=principal, case_id=case_id, ticket=ticket, error=error)


async def verified_item_download(
    request: Request, principal: Principal, case_id: uuid.UUID, item_id: uuid.UUID
) -> VerifiedBlobResponse:
    """An item's file, verified in full before the first byte, with no transaction open meanwhile.

    Three steps: check access and read the item (short transaction); verify the whole file in
    a worker thread, holding no transaction slot (so other requests, writes included, go on);
    record the download, or the alert and the blocked download (second short transaction,
    committed even though the request then fails with 409). No byte of a file that fails is
    sent: the response exists only once the file has verified.
    """

    def check(db: Session) -> evidence.DownloadTicket:
        return evidence.check_download(db, actor=principal, case_id=case_id, item_id=item_id)

    ticket = await in_transaction(request, check)
    try:
        blob = await store_for(request).open_verified_async(ticket.sha256)
    except TamperedBlobError as error:
        await in_transaction(request, partial(_block, principal, case_id, ticket, error))
        raise RuntimeError("unreachable: _block raises") from None  # pragma: no cover

    def record(db: Session) -> None:
        evidence.record_download(db, actor=principal, case_id=case_id, ticket=ticket)

    try:
        await in_transaction(request, record)
    except BaseException:
        blob.close()
        raise
    return VerifiedBlobResponse(blob, filename=ticket.filename)


def _block_export(
    principal: Principal,
    case_id: uuid.UUID,
    failure: evidence_export.FileFailure,
    db: Session,
) -> None:
    raise evidence_export.block_export(db, actor=principal, case_id=case_id, failure=failure)


async def _in_threads(iterator: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    """A synchronous stream for the event loop: each piece is produced in a worker thread."""
    try:
        while True:
            piece = await anyio.to_thread.run_sync(next, iterator, None)
            if piece is None:
                return
            yield piece
    finally:
        # A piece still being produced when the client went away: the generator then ends
        # at its next step and closes its files itself.
        with contextlib.suppress(ValueError):
            iterator.close()


async def export_case(request: Request, principal: Principal, case_id: uuid.UUID) -> Response:
    """The case's evidence as one signed ZIP, every file verified before the first byte.

    As a download: access and custody logs checked in a short transaction; every file
    verified in full with no transaction open; the export (or the alert and the blocked
    export, committed although the request fails with 409) recorded in a second short one.
    Only then does the archive stream, from the files verified (evidence_export.zip_chunks).
    """

    def plan(db: Session) -> evidence_export.ExportPlan:
        return evidence_export.plan_export(db, actor=principal, case_id=case_id)

    chosen = await in_transaction(request, plan)
    # Signed at once, under the key the manifest names (a rotation could follow meanwhile).
    signature = evidence_export.sign_manifest(chosen)
    blobs, failure = await anyio.to_thread.run_sync(
        evidence_export.verify_files, chosen, store_for(request)
    )
    if failure is not None:
        await in_transaction(request, partial(_block_export, principal, case_id, failure))
        raise RuntimeError("unreachable: _block_export raises")  # pragma: no cover

    def record(db: Session) -> None:
        evidence_export.record_export(db, actor=principal, plan=chosen, signature=signature)

    try:
        await in_transaction(request, record)
    except BaseException:
        evidence_export.close_all(blobs)
        raise
    stamp = chosen.manifest["exported_at"][:19].replace("-", "").replace(":", "")
    name = f"evidence-{case_id.hex[:8]}-{stamp}Z.zip"
    return StreamingResponse(
        _in_threads(evidence_export.zip_chunks(chosen, blobs, signature)),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(name),
            # Evidence never rests in a browser or proxy cache.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

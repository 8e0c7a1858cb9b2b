"""The durable job that answers batches of inquiries, chunk by chunk, and resumes after a crash.

Every serving process runs one (`batch_runner` setting; embedded mode), and `shouhu jobs run`
runs one on its own (production: any number, beside stateless web processes). A runner takes
a batch with a lease, renewed by every chunk it commits; if it dies, the lease runs out and
the next runner resumes at the batch's `rows_done`. Nothing about the work lives only in
memory: the file, the position and the answers are in the database (DESIGN §3, Scale).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.database import READ_ONLY, transaction
from shouhu.core.errors import ConflictError
from shouhu.core.settings import Settings
from shouhu.core.tabular import TableFileError
from shouhu.screening.batches import (
    BatchWork,
    MatchedChunk,
    answer_chunk,
    batch_work,
    claim_batch,
    count_rows,
    fail_batch,
    match_chunk,
    reclaim_orphans,
    release_batch,
    remaining_rows,
    set_total,
    work_waiting,
)
from shouhu.screening.queries import RawRow
from shouhu.screening.service import Matcher, check_keys_current

logger = logging.getLogger("shouhu.batches")

POLL_SECONDS: Final = 2.0
RETRY_SECONDS: Final = 30.0  # after a batch could not run (stale keys, say)


HOST: Final = socket.gethostname()[:40].replace(":", "-")


def new_owner() -> str:
    """A name for this runner (host:pid:random) that no other runner will have."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class BatchRunner:
    """Answers waiting batches, one at a time, in a thread of this process or in the foreground."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        owner: str | None = None,
        on_chunk: Callable[[uuid.UUID, int, int | None], None] | None = None,
    ) -> None:
        """A runner over this database, with the settings' chunk size and lease."""
        self._factory = factory
        self._settings = settings
        self.owner = owner or new_owner()
        self._on_chunk = on_chunk
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- in a thread --------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a daemon thread until `stop`."""
        self._thread = threading.Thread(target=self._loop, name="batch-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A batch was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the chunk in hand, give the lease back, and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_pending()
            except Exception:
                logger.exception("batch runner: unexpected error; retrying later")
                ran = 0
                self._stop.wait(RETRY_SECONDS)
            if not ran:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    # --- the work -----------------------------------------------------------------------------

    def run_pending(self) -> int:
        """Answer every batch that is waiting; how many this runner took."""
        taken = 0
        # The idle poll only reads: on SQLite a write transaction every few seconds would take
        # the one writer from the requests (measured: a third of the inquiry throughput).
        with self._factory() as session:
            session.connection(execution_options={READ_ONLY: True})
            if not work_waiting(session):
                return 0
        with transaction(self._factory) as session:
            freed = reclaim_orphans(session, host=HOST)
        if freed:
            logger.info("batch runner: took back %d batch(es) of a stopped process", freed)
        while not self._stop.is_set():
            with transaction(self._factory) as session:
                batch_id = claim_batch(
                    session, owner=self.owner, lease_seconds=self._settings.batch_lease_seconds
                )
            if batch_id is None:
                return taken
            taken += 1
            self.run_batch(batch_id)
        return taken

    def run_batch(self, batch_id: uuid.UUID) -> None:
        """Answer the batch whose lease this runner holds, from where it stands."""
        try:
            with self._factory() as session:
                check_keys_current(session)
                work = batch_work(session, batch_id)
        except ConflictError as exc:
            # Stale keys (or a file gone): leave it waiting, say why, try again later.
            logger.warning("batch %s cannot run now: %s", batch_id, exc)
            self._release(batch_id)
            self._stop.wait(RETRY_SECONDS)
            return
        try:
            self._answer(work)
        except TableFileError as exc:
            # The file breaks past what the upload checked (a workbook is checked lazily):
            # the rows before stay answered; the batch says where it broke.
            with transaction(self._factory) as session:
                fail_batch(session, batch_id=batch_id, owner=self.owner, problem=str(exc))
        except BaseException:
            self._release(batch_id)
            raise

    def _release(self, batch_id: uuid.UUID) -> None:
        with transaction(self._factory) as session:
            release_batch(session, batch_id=batch_id, owner=self.owner)

    def _answer(self, work: BatchWork) -> None:
        settings = self._settings
        total = work.rows_total
        if total is None:
            total = count_rows(work)
            with transaction(self._factory) as session:
                set_total(session, batch_id=work.batch_id, owner=self.owner, total=total)
        matcher = Matcher.from_settings(settings, purpose=work.purpose)
        done = work.rows_done
        logger.info("batch %s: resuming at row %d of %d", work.batch_id, done, total)
        with remaining_rows(work) as rows:
            chunk: list[RawRow] = []
            pending = next(rows, None)
            if pending is None:  # nothing left (a workbook with a header only): done
                self._record(work, MatchedChunk(done, [], {}), last=True, matcher=matcher)
                return
            while pending is not None:
                chunk.append(pending)
                pending = next(rows, None)
                if len(chunk) < settings.batch_chunk_rows and pending is not None:
                    continue
                # Match with no write lock held (SQLite has one writer: the pages and the API
                # must get their turn between chunks), then record the answers briefly.
                with self._factory() as session:
                    session.connection(execution_options={READ_ONLY: True})
                    matched = match_chunk(session, start=done, rows=chunk, matcher=matcher)
                ours = self._record(work, matched, last=pending is None, matcher=matcher)
                if not ours:
                    logger.warning("batch %s: another runner has it; stopping", work.batch_id)
                    return
                done += len(chunk)
                chunk = []
                if self._on_chunk is not None:
                    self._on_chunk(work.batch_id, done, total)
                if self._stop.is_set() and pending is not None:
                    self._release(work.batch_id)
                    return
        logger.info("batch %s: all %d rows answered", work.batch_id, done)

    def _record(
        self, work: BatchWork, chunk: MatchedChunk, *, last: bool, matcher: Matcher
    ) -> bool:
        with transaction(self._factory) as session:
            return answer_chunk(
                session,
                batch_id=work.batch_id,
                owner=self.owner,
                chunk=chunk,
                last=last,
                matcher=matcher,
                lease_seconds=self._settings.batch_lease_seconds,
            )

"""Worker processes for screening files: parsing and matching on every core.

Matching is CPU work in Python, so a file is screened on several cores by processes, not threads.
Each worker opens its own engine (read-only sessions) and loads the keyring itself from the
master key it is handed through the pool's pipe (never written anywhere). Chunks go out and
come back in order; at most two per worker are in flight, so a file of any size streams. While
every worker is busy (and while they start, which takes a second or two) the calling process
matches the next chunk itself rather than wait.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from multiprocessing.pool import AsyncResult, Pool
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shouhu.core.crypto.keyring import install_keyring, load_keyring
from shouhu.core.database import make_engine, read_only_session
from shouhu.screening.queries import RawRow, parse_rows
from shouhu.screening.service import Matcher, ScreeningResult, match_queries

IN_FLIGHT_PER_WORKER: Final = 2
# Answers held for writing, in the pool's and this process's hands together, per worker.
HELD_PER_WORKER: Final = 4


@dataclass(frozen=True)
class Parallel:
    """How to screen on several cores: the database, the master key and how many workers."""

    url: str
    master_key: bytes
    workers: int


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to start (pickled to it once)."""

    url: str
    master_key: bytes
    matcher: Matcher
    today: date


class _Worker:
    """The state of one worker process."""

    engine: Engine
    setup: WorkerSetup


def _start_worker(setup: WorkerSetup) -> None:
    _Worker.engine = make_engine(setup.url)
    _Worker.setup = setup
    with Session(_Worker.engine) as session, session.begin():
        install_keyring(load_keyring(session, setup.master_key))


def _match_chunk(rows: list[RawRow]) -> list[ScreeningResult]:
    setup = _Worker.setup
    with read_only_session(_Worker.engine) as session:
        return match_queries(session, queries=parse_rows(rows, setup.today), matcher=setup.matcher)


class WorkerPool:
    """A pool that answers chunks in the order they were given."""

    def __init__(self, pool: Pool, workers: int) -> None:
        """Wrap `pool` of `workers` processes."""
        self.pool = pool
        self.limit = workers * IN_FLIGHT_PER_WORKER
        self.held = workers * HELD_PER_WORKER

    def map_in_order(
        self, chunks: Iterable[list[RawRow]], here: Callable[[list[RawRow]], list[ScreeningResult]]
    ) -> Iterator[list[ScreeningResult]]:
        """Each chunk's results, in order; `here` matches a chunk when every worker is busy."""
        pending: deque[AsyncResult[list[ScreeningResult]] | list[ScreeningResult]] = deque()
        in_pool = 0
        for chunk in chunks:
            while pending and (len(pending) >= self.held or _ready(pending[0])):
                head = pending.popleft()
                if isinstance(head, list):
                    yield head
                else:
                    in_pool -= 1
                    yield head.get()
            if in_pool < self.limit:
                pending.append(self.pool.apply_async(_match_chunk, (chunk,)))
                in_pool += 1
            else:
                pending.append(here(chunk))
        while pending:
            head = pending.popleft()
            yield head if isinstance(head, list) else head.get()


def _ready(entry: AsyncResult[list[ScreeningResult]] | list[ScreeningResult]) -> bool:
    """Whether a held entry's answers can be written now."""
    return isinstance(entry, list) or entry.ready()


@contextmanager
def worker_pool(setup: WorkerSetup, workers: int) -> Iterator[WorkerPool]:
    """`workers` started processes (spawned: no inherited connections or locks)."""
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_start_worker, initargs=(setup,))
    try:
        yield WorkerPool(pool, workers)
    finally:
        pool.terminate()
        pool.join()

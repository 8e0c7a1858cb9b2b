"""`WorkerPool.map_in_order`: answers in input order, whoever matched them, in bounded memory."""

from __future__ import annotations

from collections import deque

import pytest

from shouhu.screening.parallel import WorkerPool


class SlowResult:
    """An AsyncResult that becomes ready only when the test says so."""

    def __init__(self, chunk):
        self.chunk = chunk
        self.done = False

    def ready(self):
        return self.done

    def get(self):
        self.done = True  # the caller blocks until the worker finishes
        return [f"pool:{row}" for row in self.chunk]


class FakePool:
    """A pool whose jobs finish in the order `finish` is called (or when waited for)."""

    def __init__(self):
        self.jobs: deque[SlowResult] = deque()
        self.submitted = 0

    def apply_async(self, function, args):
        del function
        self.submitted += 1
        job = SlowResult(args[0])
        self.jobs.append(job)
        return job

    def finish_all(self):
        for job in self.jobs:
            job.done = True


def chunks(count):
    return [[f"r{n}"] for n in range(count)]


def here(chunk):
    return [f"here:{row}" for row in chunk]


def rows_of(results):
    return [row.split(":")[1] for answer in results for row in answer]


def test_answers_come_out_in_input_order_when_this_process_helps_a_busy_pool():
    pool = FakePool()
    mapped = WorkerPool(pool, workers=2)  # 4 chunks in the pool at most, 8 held
    answers = list(mapped.map_in_order(chunks(20), here))
    assert rows_of(answers) == [f"r{n}" for n in range(20)]
    matched_here = [a for a in answers if a[0].startswith("here:")]
    assert matched_here  # the pool never finished on its own: this process worked meanwhile
    assert pool.submitted + len(matched_here) == 20  # every chunk matched exactly once


def test_a_pool_that_keeps_up_matches_everything():
    pool = FakePool()
    original = pool.apply_async

    def instant(function, args):
        job = original(function, args)
        job.done = True
        return job

    pool.apply_async = instant
    answers = list(WorkerPool(pool, workers=2).map_in_order(chunks(20), here))
    assert rows_of(answers) == [f"r{n}" for n in range(20)]
    assert all(a[0].startswith("pool:") for a in answers)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_no_more_answers_are_held_than_the_bound(workers):
    pool = FakePool()
    mapped = WorkerPool(pool, workers=workers)
    held_at_most = 0
    produced = 0
    source = iter(chunks(50))

    def counting():
        nonlocal produced
        for chunk in source:
            produced += 1
            yield chunk

    for consumed, _ in enumerate(mapped.map_in_order(counting(), here), start=1):
        held_at_most = max(held_at_most, produced - consumed)
    assert held_at_most <= mapped.held

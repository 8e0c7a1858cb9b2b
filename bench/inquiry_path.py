"""One inquiry's cost in process: CPU and SQL statements a request, and where the CPU goes.

Usage: .venv/bin/python bench/inquiry_path.py [--persons 10000] [--requests 2000]
       [--backend sqlite|postgresql]

`bench/inquiry_load.py` measures the server under load; this script explains its figures. It
builds the same registry, institution and token, then sends POST /api/v1/inquiries through the
application in this process (ASGI calls on one event loop: no sockets, no uvicorn, no HTTP
parsing, no other requests), one after another, and prints for each backend the CPU and the SQL
statements a request, by kind. (The registry's candidate look-ups go to the driver directly and
are not counted.) For where the CPU goes, run it under a sampling profiler that sees every
thread: `py-spy record --gil --format raw -o prof.txt -- .venv/bin/python bench/inquiry_path.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import Database, databases
from fastapi import FastAPI
from inquiry_load import build_registry, create_institution, import_registry, request_bytes
from sqlalchemy import event

from shouhu.core.settings import Settings
from shouhu.web.app import create_app

WARM_UP = 50


def _body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


async def post(app: FastAPI, body: bytes, token: str) -> int:
    """One POST /api/v1/inquiries as uvicorn would hand it to the app; the status code."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/api/v1/inquiries",
        "raw_path": b"/api/v1/inquiries",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def send_all(app: FastAPI, bodies: list[bytes], token: str) -> Counter[int]:
    """Send each body in turn; the status codes seen."""
    codes: Counter[int] = Counter()
    for body in bodies:
        codes[await post(app, body, token)] += 1
    return codes


def run(db: Database, tmp: Path, args: argparse.Namespace) -> None:
    """Set up one backend and send the requests one after another."""
    registry, candidates = build_registry(tmp, args.persons, args.requests + WARM_UP, 0.05)
    db.activate()
    import_registry(db, registry)
    token = create_institution(db)
    bodies = [_body(request_bytes(c, n, token=token)) for n, c in enumerate(candidates, 1)]
    settings = Settings(env="development", data_dir=tmp / f"data-{db.label}", batch_runner=False)
    app = create_app(settings=settings, sessions=db.factory, engine=db.engine)
    statements: Counter[str] = Counter()

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements[" ".join(statement.split()[:3])[:60]] += 1

    asyncio.run(send_all(app, bodies[:WARM_UP], token))
    statements.clear()
    started_cpu, started = time.process_time(), time.perf_counter()
    codes = asyncio.run(send_all(app, bodies[WARM_UP:], token))
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    n = args.requests
    print(f"  answers  {dict(codes)}")
    print(f"  CPU      {cpu / n * 1000:.2f} ms a request ({wall / n * 1000:.2f} ms wall)")
    print(f"  SQL      {sum(statements.values()) / n:.1f} statements a request:")
    for statement, times in statements.most_common():
        print(f"           {times / n:5.2f}  {statement}")


def main() -> None:
    """Parse the arguments and run each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, databases(Path(directory)) as dbs:
        for db in dbs:
            if args.backend and db.label != args.backend:
                continue
            print(f"{db.label}:")
            run(db, Path(directory), args)


if __name__ == "__main__":
    main()

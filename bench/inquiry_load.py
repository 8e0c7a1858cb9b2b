"""Inquiry load over HTTP (issue 5): concurrent clients against `shouhu serve` on loopback.

Usage: .venv/bin/python bench/inquiry_load.py [--persons 100000] [--clients 50] [--seconds 60]
       [--warmup 5] [--hit-share 0.05] [--rate R] [--servers N] [--backend sqlite|postgresql]
       [--url URL]
(targets: >= 500 inquiries/s and p99 <= 50 ms on 2 cores, no error, on SQLite and PostgreSQL).

For each backend (a scratch SQLite file, and a scratch PostgreSQL database when
SHOUHU_TEST_DATABASE_URL is set; or the one `--url` database) it:

1. imports a synthetic registry (`shouhu.registry.synthetic`) through the registry import;
2. creates a university (it queries directly: no authority approval, MoE notice 2023), an
   `institution_hr` user and an API token, through the same services as the CLI;
3. starts the real server as subprocesses, `shouhu serve` on 127.0.0.1 and free ports, as each
   backend is deployed (`--servers` to choose): SQLite in embedded mode, one process (one
   writer: a second process would only wait for the write lock, sleeping in SQLite's busy
   handler); PostgreSQL one process a core (DESIGN §3: stateless processes behind a load
   balancer; the clients are spread over them as a balancer would). Each process is one
   uvicorn worker, as `shouhu serve` starts it, with its access log on;
4. warms up, then has `--clients` clients, each on its own keep-alive HTTP/1.1 connection, send
   POST /api/v1/inquiries back to back for `--seconds` (or, with `--rate`, that many requests a
   second together, evenly spaced, latency counted from when each was due). Every request is
   about a distinct candidate with a valid 18-digit PRC number: `--hit-share` of them registry
   persons under their registered name and number, the rest persons the registry does not hold
   (a few of whom share a registry person's name and birth date, and so go to review). No
   candidate is asked about twice in a run: the 30-day repeat rule would answer from the
   earlier inquiry;
5. prints requests, errors (every answer but 201; the first few shown), throughput, latency
   p50/p90/p99/max, answers by kind, the server's peak RSS and CPU time, and the load
   generator's own CPU time (it shares the machine's cores with the server);
6. stops the servers and runs `shouhu audit verify`, printing its result and the events,
   and checks that every stored inquiry has its submission event.

Exits non-zero on any error, a failed verification, or a candidate pool used up.

The load generator is one asyncio loop on raw sockets with every request prebuilt as bytes, so
its cost per request is a write, a read and a JSON parse of the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import random
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from common import MASTER_KEY, Database, databases, rate
from sqlalchemy import func, select

from shouhu.accounts import organisations, tokens, users
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import InstitutionKind, OrgType, Role
from shouhu.accounts.users import UserCreate
from shouhu.cli.registry import DEFAULT_IMPORT_WORKERS
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.identity.credit_code import (
    credit_code_check_character,
    organisation_code_check_character,
)
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.importer import import_file
from shouhu.registry.synthetic import SyntheticPerson, generate_persons, write_registry_csv
from shouhu.screening.models import Inquiry

SEED = 5
PATH = "/api/v1/inquiries"
REGION = "110108"  # Haidian, Beijing: where the university is
SHOWN_ERRORS = 5
# Candidates made ready per second of the run: far above what 2 cores serve, so the pool
# never runs out before the time does (if it does, the run says so and fails).
POOL_RATE = 2_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate as the HR system sends them."""

    name: str
    id_number: str
    date_of_birth: str
    sex: str
    in_registry: bool


def _candidate(person: SyntheticPerson, *, in_registry: bool) -> Candidate:
    return Candidate(
        person.name,
        person.id_number,
        person.date_of_birth.isoformat(),
        person.sex,
        in_registry,
    )


def build_registry(
    tmp: Path, persons: int, pool: int, hit_share: float
) -> tuple[Path, list[Candidate]]:
    """The registry CSV (streamed) and `pool` distinct candidates, `hit_share` of them in it.

    One generator draws the registry and then the outsiders, so no outsider shares a
    registry person's document number (the generator never draws a number twice).
    """
    hits_wanted = round(pool * hit_share)
    stride = max(1, persons // max(1, hits_wanted * 2))  # every PRC holder is a hit 1 in 2
    people = generate_persons(persons + pool * 2, seed=SEED)
    hits: list[Candidate] = []

    def registry_people() -> Iterator[SyntheticPerson]:
        for index, person in enumerate(itertools.islice(people, persons)):
            if person.id_type == "prc_id" and index % stride == 0 and len(hits) < hits_wanted:
                hits.append(_candidate(person, in_registry=True))
            yield person

    started = time.perf_counter()
    registry = tmp / "registry.csv"
    rows = write_registry_csv(registry, registry_people(), seed=SEED)
    outsiders = [
        _candidate(person, in_registry=False)
        for person in itertools.islice(
            (p for p in people if p.id_type == "prc_id"), pool - len(hits)
        )
    ]
    candidates = hits + outsiders
    # Spread the registry persons through the run (a fixed shuffle: the same run each time).
    order = list(range(len(candidates)))
    random.Random(SEED).shuffle(order)
    shuffled = [candidates[i] for i in order]
    print(
        f"generated {persons:,} registry persons ({rows:,} rows) and {len(shuffled):,}"
        f" candidates ({len(hits):,} in the registry) in {time.perf_counter() - started:.1f} s"
    )
    return registry, shuffled


# --- the registry and the institution -----------------------------------------------------------


def import_registry(db: Database, registry: Path) -> None:
    """Import the registry file as `shouhu registry import` does; print rows/s."""
    started = time.perf_counter()
    imported = import_file(
        db.factory, actor=system_principal("cli"), path=registry, workers=DEFAULT_IMPORT_WORKERS
    )
    speed = rate(imported.rows_total, time.perf_counter() - started)
    print(f"  import   {speed}  ({imported.counts.persons_created:,} persons)")


def _credit_code(region: str, body: str) -> str:
    """A valid unified social credit code (GB 32100-2015) of a public institution (12)."""
    organisation = body + organisation_code_check_character(body)
    first17 = f"12{region}{organisation}"
    return first17 + credit_code_check_character(first17)


def create_institution(db: Database) -> str:
    """A university under its education authority, an HR officer and their API token."""
    actor = system_principal("cli")
    with transaction(db.factory) as session:
        authority = organisations.create_organisation(
            session,
            actor=actor,
            data=OrganisationCreate(
                name="负载测试区教育委员会",
                type=OrgType.EDUCATION_AUTHORITY,
                region_code=REGION,
            ),
        )
        # A university queries directly (MoE notice 2023): no approval in its path.
        university = organisations.create_organisation(
            session,
            actor=actor,
            data=OrganisationCreate(
                name="负载测试大学",
                type=OrgType.INSTITUTION,
                kind=InstitutionKind.UNIVERSITY.value,
                region_code=REGION,
                parent_id=authority.id,
                credit_code=_credit_code(REGION, "40000001"),
            ),
        )
        hr = users.create_user(
            session,
            actor=actor,
            data=UserCreate(
                organisation_id=university.id,
                username="load.hr",
                roles=[Role.INSTITUTION_HR],
                password=secrets.token_urlsafe(24),
            ),
        )
        return tokens.create_token(session, actor=actor, user_id=hr.id, name="load", days=1).secret


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """`shouhu serve` in a subprocess, with its logs in files."""

    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> int:
        """The server's peak resident size (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return 0

    def stop(self) -> None:
        """Stop it as a service manager would (SIGTERM), and wait."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def server_env(db: Database, data_dir: Path) -> dict[str, str]:
    """The environment `shouhu serve` and `shouhu audit verify` run with."""
    env = dict(os.environ)
    env.update(
        SHOUHU_DATABASE_URL=db.url,
        SHOUHU_DATA_DIR=str(data_dir),
        SHOUHU_MASTER_KEY=base64.urlsafe_b64encode(MASTER_KEY).decode(),
        # PostgreSQL is the production backend: run it under production's rules.
        SHOUHU_ENV="production" if db.url.startswith("postgresql") else "development",
    )
    return env


def shouhu_command() -> str:
    """The project's `shouhu` beside this interpreter."""
    found = Path(sys.executable).with_name("shouhu")
    return str(found) if found.exists() else (shutil.which("shouhu") or "shouhu")


def start_server(db: Database, tmp: Path, number: int) -> Server:
    """Start one `shouhu serve` on a free port; it answers once ready (see `wait_ready`)."""
    port = free_port()
    data_dir = tmp / f"data-{db.label}"
    data_dir.mkdir(exist_ok=True)
    env = server_env(db, data_dir)
    log = tmp / f"server-{db.label}-{number}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [shouhu_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return Server(process, port, env, log)


def wait_ready(server: Server) -> None:
    """Wait until the server's /readyz says the database answers and is migrated."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"the server ended at start:\n{server.log.read_text()[-2000:]}")
        try:
            url = f"http://127.0.0.1:{server.port}/readyz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:  # noqa: PLR2004 - HTTP OK
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server was not ready in 60 s:\n{server.log.read_text()[-2000:]}")


# --- the load -----------------------------------------------------------------------------------


def request_bytes(candidate: Candidate, number: int, *, token: str) -> bytes:
    """One POST /api/v1/inquiries, ready to write to the socket."""
    body = json.dumps(
        {
            "purpose": "school_staff",
            "subject": {
                "name": candidate.name,
                "id_type": "prc_id",
                "id_number": candidate.id_number,
                "date_of_birth": candidate.date_of_birth,
                "sex": candidate.sex,
                "nationality": "CHN",
            },
            "consent": {
                "reference": f"CONSENT-{number:07d}",
                "signed_on": (latest_possible_date() - timedelta(days=7)).isoformat(),
            },
            "position": "讲师",
            "reference": f"LOAD-{number:07d}",
        },
        ensure_ascii=False,
    ).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    first_started: float = 0.0
    last_finished: float = 0.0
    exhausted: bool = False


def _kind(body: bytes) -> str:
    answer = json.loads(body)
    if answer.get("status") == "completed":
        return str(answer.get("answer"))
    return str(answer.get("status"))


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool]:
    """Send one request; the status, the body and whether the server keeps the connection."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"connection" and value.strip().lower() == b"close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    return status, body, keep


@dataclass(frozen=True)
class Pace:
    """When a client sends: back to back (`interval` 0), or on a fixed schedule."""

    first: float  # perf_counter time of the first send
    interval: float = 0.0  # seconds between this client's sends; 0: as soon as answered


async def client(
    port: int, requests: Iterator[bytes], deadline: float, tally: Tally, pace: Pace
) -> None:
    """One HR system's connection: requests until the deadline, back to back or paced."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = pace.first
    try:
        while (now := time.perf_counter()) < deadline:
            if pace.interval:
                if due >= deadline:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
                # Latency counts from when the request was due, not sent: a server that falls
                # behind its arrivals is charged for the wait (no coordinated omission).
                now, due = due, due + pace.interval
            request = next(requests, None)
            if request is None:
                tally.exhausted = True
                return
            try:
                status, body, keep = await _exchange(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                status, body, keep = 0, repr(exc).encode(), False
            finished = time.perf_counter()
            tally.latencies.append(finished - now)
            tally.last_finished = finished
            if status == 201:  # noqa: PLR2004 - Created
                tally.answers[_kind(body)] += 1
            else:
                tally.errors.append(f"{status} {body[:300].decode(errors='replace')}")
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def drive(
    ports: list[int],
    requests: Iterator[bytes],
    *,
    clients: int,
    seconds: float,
    rate: float = 0.0,
) -> Tally:
    """`clients` connections for `seconds`, spread over the servers; what they saw.

    With `rate`, the clients together send that many requests a second, evenly spaced;
    otherwise each sends its next request as soon as the last is answered.
    """
    tally = Tally(first_started=time.perf_counter())
    deadline = tally.first_started + seconds

    def pace(n: int) -> Pace:
        if not rate:
            return Pace(tally.first_started)
        return Pace(tally.first_started + n / rate, interval=clients / rate)

    await asyncio.gather(
        *(client(ports[n % len(ports)], requests, deadline, tally, pace(n)) for n in range(clients))
    )
    return tally


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(tally: Tally, *, client_cpu: float, server_cpu: float, servers: list[Server]) -> bool:
    """Print the figures; True when no request failed."""
    count = len(tally.latencies)
    elapsed = tally.last_finished - tally.first_started
    cuts = statistics.quantiles(tally.latencies, n=100) if count > 1 else [0.0] * 99
    print(f"  requests {count:,} in {elapsed:.1f} s, errors {len(tally.errors):,}")
    print(f"  throughput {count / elapsed:,.0f} inquiries/s")
    print(
        f"  latency  p50 {_ms(cuts[49])}, p90 {_ms(cuts[89])}, p99 {_ms(cuts[98])},"
        f" max {_ms(max(tally.latencies, default=0.0))}"
    )
    answers = ", ".join(f"{kind} {n:,}" for kind, n in tally.answers.most_common())
    print(f"  answers  {answers}")
    print(
        f"  CPU      server {server_cpu:.1f} s ({server_cpu / elapsed:.0%} of one core,"
        f" {server_cpu / max(count, 1) * 1000:.1f} ms a request), load generator"
        f" {client_cpu:.1f} s ({client_cpu / elapsed:.0%} of one core)"
    )
    peaks = ", ".join(f"{server.peak_rss_mib():,}" for server in servers)
    print(f"  server peak RSS {peaks} MiB")
    for error in tally.errors[:SHOWN_ERRORS]:
        print(f"  error: {error}")
    if tally.errors:
        # The server logs an unexpected error's type (never its message: personal data).
        logged = [
            line
            for server in servers
            for line in server.log.read_text(errors="replace").splitlines()
            if ' HTTP/1.1" ' not in line
        ]
        for line in logged[-SHOWN_ERRORS * 2 :]:
            print(f"  server log: {line}")
    if tally.exhausted:
        print("  the candidate pool ran out before the time did: raise POOL_RATE")
    return not tally.errors and not tally.exhausted


def verify_audit(db: Database, env: dict[str, str]) -> bool:
    """`shouhu audit verify` on the database; print its result and the events written."""
    with db.factory() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        submissions = (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "api:inquiry:submit")
            )
            or 0
        )
        stored = session.scalar(select(func.count()).select_from(Inquiry)) or 0
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [shouhu_command(), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    print(f"  audit    `shouhu audit verify`: exit {done.returncode} in {elapsed:.1f} s")
    for line in (done.stdout + done.stderr).strip().splitlines():
        print(f"           {line}")
    print(
        f"  audit    {events:,} events; {submissions:,} inquiry submissions recorded for"
        f" {stored:,} inquiries stored (warm-up included)"
    )
    return done.returncode == 0 and submissions == stored


def server_count(db: Database, chosen: int | None) -> int:
    """As deployed: SQLite one process (embedded mode), PostgreSQL one per core."""
    if chosen:
        return chosen
    return 1 if db.url.startswith("sqlite") else os.cpu_count() or 1


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (all cores, /proc/stat)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    hertz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `database` (by process title)."""
    found: dict[int, float] = {}
    for directory in Path("/proc").glob("[0-9]*"):
        try:
            title = (directory / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (directory / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        found[int(directory.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def database_name(db: Database) -> str:
    """The PostgreSQL database's name; empty for SQLite."""
    return "" if db.url.startswith("sqlite") else db.url.rsplit("/", 1)[1].split("?")[0]


def cpu_seconds_of_this_process() -> float:
    """User and system CPU time of this process (the load generator) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    db: Database, tmp: Path, registry: Path, candidates: list[Candidate], args: argparse.Namespace
) -> bool:
    """One backend: import, set up, serve, load, verify. True when everything held."""
    db.activate()
    import_registry(db, registry)
    token = create_institution(db)
    prepared = [request_bytes(c, n, token=token) for n, c in enumerate(candidates, start=1)]
    requests = iter(prepared)
    count = server_count(db, args.servers)
    print(f"  serving  {count} `shouhu serve` process{'es' if count > 1 else ''}")
    servers = [start_server(db, tmp, number) for number in range(count)]
    try:
        for server in servers:
            wait_ready(server)
        ports = [server.port for server in servers]
        warm = asyncio.run(
            drive(ports, requests, clients=args.clients, seconds=args.warmup, rate=args.rate)
        )
        if warm.errors:
            print(f"  warm-up: {len(warm.errors):,} errors, the first: {warm.errors[0]}")
        client_before = cpu_seconds_of_this_process()
        server_before = sum(server.cpu_seconds() for server in servers)
        busy_before, total_before = machine_cpu()
        name = database_name(db)
        backends_before = backend_cpu(name) if name else {}
        tally = asyncio.run(
            drive(ports, requests, clients=args.clients, seconds=args.seconds, rate=args.rate)
        )
        client_cpu = cpu_seconds_of_this_process() - client_before
        server_cpu = sum(server.cpu_seconds() for server in servers) - server_before
        busy_after, total_after = machine_cpu()
        backends_after = backend_cpu(name) if name else {}
        # A backend that ended during the run is not counted: the pool keeps them open.
        postgres = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
        ok = report(tally, client_cpu=client_cpu, server_cpu=server_cpu, servers=servers)
        # What else ran: the PostgreSQL backends serving these requests, and everyone else.
        busy, total = busy_after - busy_before, total_after - total_before
        other = busy - server_cpu - client_cpu - postgres
        count = len(tally.latencies)
        print(
            f"  machine  {busy / total:.0%} of {os.cpu_count()} cores busy: PostgreSQL backends"
            f" {postgres:.1f} s ({postgres / max(count, 1) * 1000:.1f} ms a request),"
            f" everything else (not this benchmark) {other:.1f} s"
        )
    finally:
        for server in servers:
            server.stop()
    return verify_audit(db, servers[0].env) and ok and not warm.errors


def main() -> None:
    """Build the registry file and candidates once, then load each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000, help="registry persons")
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured run")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured run first")
    parser.add_argument("--hit-share", type=float, default=0.05, help="candidates in registry")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests/s the clients send together, evenly spaced (default: back to back)",
    )
    parser.add_argument(
        "--servers", type=int, help="server processes (default: SQLite 1, PostgreSQL one a core)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), help="measure only this default backend"
    )
    parser.add_argument("--url", help="a database URL to measure instead of the defaults")
    args = parser.parse_args()
    pool = int((args.seconds + args.warmup) * POOL_RATE)
    ok = True
    with tempfile.TemporaryDirectory() as directory, databases(Path(directory), args.url) as dbs:
        tmp = Path(directory)
        registry, candidates = build_registry(tmp, args.persons, pool, args.hit_share)
        for db in dbs:
            if args.backend and db.label != args.backend:
                continue
            paced = f", {args.rate:g} requests/s offered" if args.rate else ", back to back"
            print(f"{db.label}: {args.clients} clients{paced}, {args.seconds:.0f} s")
            ok = run(db, tmp, registry, candidates, args) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

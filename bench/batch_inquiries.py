"""A batch of 100,000 inquiries on the embedded default, through the running server.

Seeds the demo's synthetic registry (10,000 persons) into a fresh SQLite data directory, makes a
university and its HR user's API token, starts `shouhu serve` (which runs batches in-process),
uploads a CSV of `--rows` candidates over the API, and follows the batch's progress as a person
or an HR system would (polling `GET /api/v1/inquiry-batches/{id}`), printing a progress line.
With `--kill-at F` the server is killed (SIGKILL) once that fraction of rows is answered and a
new one started; the batch must resume and answer every row exactly once.

Prints: upload time, rows answered per second, the whole batch's time, the results download
time and size, the answers by kind, a check that each row appears once in file order, and the
audit chain's verification. Exit status 1 if a check fails.

    .venv/bin/python bench/batch_inquiries.py --rows 100000 [--kill-at 0.5]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx

from shouhu.accounts import organisations, tokens, users
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import UserCreate
from shouhu.core.audit.verify import verify_chain
from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.core.runtime import start
from shouhu.core.settings import Settings
from shouhu.demo_registry import seed_registry
from shouhu.identity.credit_code import (
    credit_code_check_character,
    organisation_code_check_character,
)
from shouhu.identity.prc_id import latest_possible_date, prc_check_character

HEADER = ["reference", "name", "id_type", "id_number", "date_of_birth", "sex", "position"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def candidates(count: int, registry_numbers: list[str]) -> bytes:
    """A staff file: distinct valid numbers, with one in 200 taken from the registry."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(count):
        if registry_numbers and i % 200 == 7:  # noqa: PLR2004 - a realistic share of hits
            number = registry_numbers[(i // 200) % len(registry_numbers)]
        else:
            born = f"{1960 + i % 40}{1 + i // 40 % 12:02d}{1 + i // 480 % 28:02d}"
            first17 = f"330106{born}{i // 13440 % 1000:03d}"
            number = first17 + prc_check_character(first17)
        given = len(GIVEN)
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[i // 20 % given] + GIVEN[i // 500 % given]
        writer.writerow([f"EMP-{i:06d}", name, "prc_id", number, "", "", "教职工"])
    return out.getvalue().encode()


def credit_code() -> str:
    """A valid unified social credit code."""
    body = f"{uuid.uuid4().int % 10**8:08d}"
    first17 = f"91330106{body}{organisation_code_check_character(body)}"
    return first17 + credit_code_check_character(first17)


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`shouhu serve` on the embedded default, ready to answer."""
    env = {**os.environ, "SHOUHU_DATA_DIR": str(data_dir)}
    env.pop("SHOUHU_DATABASE_URL", None)
    shouhu = Path(sys.executable).with_name("shouhu")
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(shouhu), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:  # noqa: PLR2004
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start; see server.log")


def main() -> int:  # noqa: PLR0915 - one measured run, read top to bottom
    """Run the batch and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kill-at", type=float, default=None, help="kill the server at F done")
    parser.add_argument("--keep", type=Path, default=None, help="data directory to keep")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="shouhu-batch-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = start(Settings(data_dir=data_dir), run_migrations=True)
    began = time.perf_counter()
    seeded = seed_registry(runtime.sessions, data_dir)
    print(f"registry: {seeded.persons:,} synthetic persons in {time.perf_counter() - began:.0f} s")
    registry_numbers = [
        row["id_number"]
        for row in csv.DictReader(seeded.queries_file.open(encoding="utf-8"))
        if row["id_type"] == "prc_id" and len(row["id_number"]) == 18  # noqa: PLR2004
    ][:400]
    actor = system_principal("cli")
    with transaction(runtime.sessions) as session:
        authority = organisations.create_organisation(
            session,
            actor=actor,
            data=OrganisationCreate(
                name="基准测试教育局", type=OrgType.EDUCATION_AUTHORITY, region_code="330106"
            ),
        )
        university = organisations.create_organisation(
            session,
            actor=actor,
            data=OrganisationCreate(
                name="基准测试大学",
                type=OrgType.INSTITUTION,
                kind="university",
                region_code="330106",
                parent_id=authority.id,
                credit_code=credit_code(),
            ),
        )
        hr = users.create_user(
            session,
            actor=actor,
            data=UserCreate(
                organisation_id=university.id,
                username="bench.hr",
                display_name="基准人事",
                roles=[Role.INSTITUTION_HR],
                password=uuid.uuid4().hex + " bench passphrase",
            ),
        )
        token = tokens.create_token(session, actor=actor, user_id=hr.id, name="bench", days=1)
    runtime.engine.dispose()
    headers = {"Authorization": f"Bearer {token.secret}"}
    content = candidates(args.rows, registry_numbers)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/inquiry-batches"
    server = serve(data_dir, port)
    try:
        began = time.perf_counter()
        created = httpx.post(
            url,
            headers=headers,
            files={"file": ("staff.csv", content, "text/csv")},
            data={
                "purpose": "annual_recheck",
                "consent_reference": "年度复查授权-基准",
                "consent_signed_on": (latest_possible_date() - timedelta(days=3)).isoformat(),
            },
            timeout=300,
        )
        uploaded = time.perf_counter() - began
        if created.status_code != 202:  # noqa: PLR2004
            print(f"upload refused: {created.status_code} {created.text}")
            return 1
        batch = f"{url}/{created.json()['id']}"
        print(f"uploaded {len(content) / 1e6:.1f} MB, {args.rows:,} rows in {uploaded:.1f} s")
        killed = False
        state = httpx.get(batch, headers=headers, timeout=30).json()
        last_print = 0.0
        while state["status"] not in {"completed", "failed"}:
            time.sleep(0.5)
            try:
                state = httpx.get(batch, headers=headers, timeout=30).json()
            except httpx.TransportError:
                continue
            done, total = state["rows_done"], state["rows_total"] or args.rows
            if time.perf_counter() - last_print >= 5:  # noqa: PLR2004
                elapsed = time.perf_counter() - began
                print(
                    f"  {done:>7,} / {total:,} rows ({100 * done / total:5.1f}%) after"
                    f" {elapsed:5.0f} s, {done / elapsed:,.0f} rows/s",
                    flush=True,
                )
                last_print = time.perf_counter()
            if args.kill_at is not None and not killed and done >= args.kill_at * total:
                server.send_signal(signal.SIGKILL)
                server.wait()
                killed = True
                print(f"  killed the server (SIGKILL) at {done:,} rows; starting a new one")
                server = serve(data_dir, port)
        elapsed = time.perf_counter() - began
        if state["status"] != "completed":
            print(f"batch failed: {state}")
            return 1
        print(
            f"batch completed: {args.rows:,} rows in {elapsed:.0f} s"
            f" ({args.rows / elapsed:,.0f} rows/s, upload included)"
        )
        print(f"answers: {state['outcomes']}")
        began = time.perf_counter()
        results = httpx.get(f"{batch}/results", headers=headers, timeout=600)
        print(
            f"results CSV: {len(results.content) / 1e6:.1f} MB in"
            f" {time.perf_counter() - began:.1f} s"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    lines = list(csv.DictReader(io.StringIO(results.text)))
    rows = [int(line["row"]) for line in lines]
    once = rows == list(range(2, args.rows + 2))
    references = Counter(line["reference"] for line in lines)
    print(
        f"every row answered exactly once, in file order: {once and len(references) == args.rows}"
    )
    runtime = start(Settings(data_dir=data_dir))
    with runtime.sessions() as session:
        verified = verify_chain(session)
    print(
        f"audit chain: {verified.checked:,} events, "
        + ("intact" if verified.intact else f"BROKEN at {verified.first_bad}")
    )
    return 0 if once and verified.intact else 1


if __name__ == "__main__":
    raise SystemExit(main())

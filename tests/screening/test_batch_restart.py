"""A batch survives the server being killed halfway: the real `shouhu serve`, SIGKILL, restart.

On the embedded default (SQLite, the batch runner inside the serving process), a batch is
uploaded over the API, the server is killed with SIGKILL once some rows (not all) are
answered, and a new server resumes it. Every row is then answered exactly once: one result row
per file row, one inquiry per candidate, and the results file lists each row once, in order.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.crypto.keyring import _Holder, install_keyring
from shouhu.core.database import transaction
from shouhu.core.runtime import Runtime, start
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.models import Inquiry, InquiryBatchRow
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.registry import import_rows, registry_row
from tests.screening.test_batches import csv_bytes, strangers

ROWS = 4000
CHUNK = 50
START_LIMIT = 30.0
RUN_LIMIT = 240.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`shouhu serve` in a child process over one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "SHOUHU_DATA_DIR": str(self.data_dir),
            "SHOUHU_BATCH_CHUNK_ROWS": str(CHUNK),
        }
        env.pop("SHOUHU_DATABASE_URL", None)  # the embedded default
        shouhu = Path(sys.executable).with_name("shouhu")
        self.process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [str(shouhu), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "server.log").open("ab"),
        )
        deadline = time.monotonic() + START_LIMIT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not start: {(self.data_dir / 'server.log').read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # no clean shutdown: the lease is left held
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    """A migrated embedded database with a registry, a university and its HR user's token."""
    previous = _Holder.keyring
    runtime = start(Settings(data_dir=tmp_path), run_migrations=True)
    try:
        assert import_rows(runtime.sessions, tmp_path / "registry.csv", [registry_row()]).complete
        with transaction(runtime.sessions) as session:
            university = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
            hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=university)
            token = api_token(session, hr)
        yield runtime, token
    finally:
        runtime.engine.dispose()
        install_keyring(previous)


def test_a_batch_resumes_after_the_server_is_killed_and_answers_every_row_once(
    tmp_path: Path, embedded: tuple[Runtime, str]
) -> None:
    runtime, token = embedded
    headers = {"Authorization": f"Bearer {token}"}
    rows = strangers(ROWS)
    rows[1234] = ["OFFENDER", "王小明", "prc_id", registry_row()["id_number"], "", "", "教师"]
    server = Server(tmp_path)
    server.start()
    try:
        signed = latest_possible_date() - timedelta(days=10)
        created = httpx.post(
            f"{server.url}/api/v1/inquiry-batches",
            headers=headers,
            files={"file": ("staff.csv", csv_bytes(rows), "text/csv")},
            data={
                "purpose": "annual_recheck",
                "consent_reference": "年度复查同意书",
                "consent_signed_on": signed.isoformat(),
            },
            timeout=30,
        )
        assert created.status_code == 202, created.text
        batch = f"{server.url}/api/v1/inquiry-batches/{created.json()['id']}"
        deadline = time.monotonic() + RUN_LIMIT
        done = 0
        while done < ROWS // 5:  # well started, far from finished
            assert time.monotonic() < deadline, "the batch made no progress"
            done = httpx.get(batch, headers=headers, timeout=10).json()["rows_done"]
            time.sleep(0.02)
        server.kill()
    finally:
        server.stop()
    with runtime.sessions() as session:
        at_kill = session.scalar(select(func.count()).select_from(InquiryBatchRow))
    assert 0 < at_kill < ROWS, f"killed at {at_kill} of {ROWS} rows"

    restarted = Server(tmp_path)
    restarted.start()
    try:
        deadline = time.monotonic() + RUN_LIMIT
        state = httpx.get(batch.replace(server.url, restarted.url), headers=headers).json()
        while state["status"] != "completed":
            assert time.monotonic() < deadline, f"the batch did not resume: {state}"
            time.sleep(0.2)
            state = httpx.get(batch.replace(server.url, restarted.url), headers=headers).json()
        answers = httpx.get(
            batch.replace(server.url, restarted.url) + "/results", headers=headers, timeout=60
        )
    finally:
        restarted.stop()
    assert state["rows_done"] == state["rows_total"] == ROWS
    assert state["outcomes"] == {"no_record": ROWS - 1, "record_found": 1, "invalid": 0}
    lines = list(csv.DictReader(io.StringIO(answers.text)))
    assert [int(line["row"]) for line in lines] == list(range(2, ROWS + 2))
    assert [line["reference"] for line in lines] == [row[0] for row in rows]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InquiryBatchRow)) == ROWS
        assert session.scalar(select(func.count()).select_from(Inquiry)) == ROWS
        distinct = select(func.count(func.distinct(InquiryBatchRow.inquiry_id)))
        assert session.scalar(distinct) == ROWS

"""Upload and download a large evidence file through the real server; report speed and memory.

Issue 6: "a 2 GB recording uploads and downloads in constant memory" — the target is a server
peak of at most 200 MiB above idle, whatever the file's size. The script

1. makes a scratch SQLite database in a scratch data directory, migrated, with a public
   security bureau, its one-stop site, a case officer and their API token, and a case the
   officer received, all through the services (as bench/inquiry_load.py sets up its
   institution);
2. starts `shouhu serve` in a subprocess on that data directory (one process, as embedded
   mode runs), with `SHOUHU_EVIDENCE_MAX_BYTES` above the largest size;
3. for each size records an evidence item (`POST /api/v1/onestop/cases/{id}/evidence`), uploads
   a body generated on the fly (never held whole by the client) with
   `PUT …/evidence/{item}/file`, and downloads it with `GET …/file` (the server verifies the
   whole file first, then streams it), hashing what arrives and comparing with what was sent;
4. prints MB/s (10⁶ bytes a second) each way, the download's time to first byte (the
   verification pass), and the server's peak RSS above idle for each phase: VmHWM, reset before
   each phase through /proc/<pid>/clear_refs, and a 20 ms VmRSS sampler as a cross-check.

Blobs are deleted after each size, and the scratch directory at the end.

    .venv/bin/python bench/evidence_streaming.py                 # 256M and 2G
    .venv/bin/python bench/evidence_streaming.py --sizes 64M,1G --root /srv/scratch
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

import httpx
from common import MASTER_KEY, open_database

from shouhu.accounts import organisations, tokens, users
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import UserCreate, principal_for
from shouhu.core.database import transaction, utcnow
from shouhu.core.principal import system_principal
from shouhu.onestop import cases, sites

MiB = 1 << 20
OK, CREATED = 200, 201
BLOCK = 1 * MiB
TARGET_MIB = 200


REGION = "110101"


@dataclass(frozen=True)
class Scene:
    """What the bench drives: the officer's token and the case they lead."""

    token: str
    case_id: str


def create_case(data_dir: Path) -> tuple[str, Scene]:
    """A migrated SQLite database in `data_dir` with a bureau, site, officer, token and case."""
    url = f"sqlite:///{data_dir / 'shouhu.db'}"
    db = open_database("sqlite", url)
    system = system_principal("cli")
    with transaction(db.factory) as session:
        bureau = organisations.create_organisation(
            session,
            actor=system,
            data=OrganisationCreate(
                name="基准测试区公安分局", type=OrgType.PUBLIC_SECURITY, region_code=REGION
            ),
        )
        officer = users.create_user(
            session,
            actor=system,
            data=UserCreate(
                organisation_id=bureau.id,
                username="bench.officer",
                roles=[Role.CASE_OFFICER],
                password=secrets.token_urlsafe(24),
            ),
        )
        site = sites.create_site(
            session,
            actor=system,
            data=sites.SiteInput(
                name="基准测试一站式取证中心",
                region_code=REGION,
                host_unit_id=bureau.id,
                interview_room=True,
            ),
        )
        case = cases.open_case(
            session,
            actor=principal_for(officer, "cli"),
            intake=cases.CaseIntake(
                received_at=utcnow() - timedelta(hours=1),
                channel="family",
                offence="child_molestation",
                place="某小区",
                jurisdiction=REGION,
                site_id=site.id,
                children=(cases.ChildInput(name="测试儿童", sex="F", age_at_intake=9),),
            ),
        )
        token = tokens.create_token(
            session, actor=system, user_id=officer.id, name="bench", days=1
        ).secret
        scene = Scene(token, str(case.id))
    db.engine.dispose()
    return url, scene


# Measuring


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for process {pid}")


def _reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler:
    """Polls VmRSS every 20 ms, keeping the maximum, as a check on VmHWM."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(OSError, RuntimeError):
                self.peak = max(self.peak, _status(self.pid, "VmRSS"))
            self._stop.wait(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Phase:
    """One upload or download: bytes, seconds, peaks above idle."""

    seconds: float
    hwm_above_idle: int
    sampled_above_idle: int
    first_byte_seconds: float | None = None


@contextmanager
def measured(pid: int, idle: int) -> Iterator[dict[str, Any]]:
    """Reset the server's peak, sample while the block runs, report peaks above idle."""
    result: dict[str, Any] = {}
    reset = _reset_peak(pid)
    with Sampler(pid) as sampler:
        start = time.perf_counter()
        yield result
        result["seconds"] = time.perf_counter() - start
    hwm = _status(pid, "VmHWM") if reset else sampler.peak
    result["hwm_above_idle"] = hwm - idle
    result["sampled_above_idle"] = sampler.peak - idle


def generated_body(size: int, digest: Any) -> Iterator[bytes]:
    """`size` bytes made on the fly from one random block, each block numbered, hashed as sent."""
    block = secrets.token_bytes(BLOCK)
    sent, index = 0, 0
    while sent < size:
        piece = (index.to_bytes(8, "big") + block[8:])[: size - sent]
        digest.update(piece)
        sent += len(piece)
        index += 1
        yield piece


def parse_size(text: str) -> int:
    """`256M`, `2G`, `1000000` → bytes (binary units)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    data_dir: Path, url: str, max_bytes: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`shouhu serve` on the scratch data directory, up and answering."""
    port = free_port()
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": url,
        "SHOUHU_DATA_DIR": str(data_dir),
        "SHOUHU_MASTER_KEY": base64.urlsafe_b64encode(MASTER_KEY).decode(),
        "SHOUHU_ENV": "development",
        "SHOUHU_EVIDENCE_MAX_BYTES": str(max_bytes),
    }
    shouhu = Path(sys.executable).with_name("shouhu")
    log = data_dir / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [str(shouhu), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == OK:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


def transfer(
    client: httpx.Client, base: str, scene: Scene, size: int, *, pid: int, idle: int
) -> tuple[Phase, Phase]:
    """Record an item, upload `size` generated bytes as its file, download them; measure both."""
    cases_url = f"{base}/api/v1/onestop/cases/{scene.case_id}/evidence"
    made = client.post(
        cases_url,
        json={
            "kind": "interview_recording",
            "description": "基准测试录像",
            "place": "询问室",
            "holder": "物证室",
            "reason": "基准测试。",
        },
    )
    assert made.status_code == CREATED, made.text
    file_url = f"{cases_url}/{made.json()['id']}/file"
    sent = hashlib.sha256()
    with measured(pid, idle) as up:
        response = client.put(
            file_url,
            params={"filename": "询问录像.mp4"},
            content=generated_body(size, sent),
            headers={"Content-Length": str(size), "Content-Type": "video/mp4"},
        )
    assert response.status_code == OK, response.text
    stored = response.json()["file"]
    assert (stored["sha256"], stored["size"]) == (sent.hexdigest(), size), stored
    received = hashlib.sha256()
    count = 0
    with measured(pid, idle) as down:
        start = time.perf_counter()
        with client.stream("GET", file_url) as streamed:
            assert streamed.status_code == OK, streamed.read()
            assert int(streamed.headers["content-length"]) == size
            for chunk in streamed.iter_raw(BLOCK):
                if count == 0:
                    down["first_byte_seconds"] = time.perf_counter() - start
                received.update(chunk)
                count += len(chunk)
    assert count == size, (count, size)
    assert received.hexdigest() == sent.hexdigest(), "the download differs from the upload"
    return Phase(**up), Phase(**down)


def main() -> None:
    """Measure each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256M,2G")
    parser.add_argument("--root", type=Path, default=None, help="scratch directory's parent")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="shouhu-evidence-bench-", dir=args.root))
    try:
        need = max(sizes) + 64 * MiB
        free = shutil.disk_usage(scratch).free
        print(
            f"scratch {scratch}: {free / 2**30:.1f} GiB free, "
            f"largest blob {max(sizes) / 2**30:.2f} GiB"
        )
        if free < 2 * need:
            raise SystemExit("not enough free disk for the largest size (twice, to be safe)")
        run(scratch, sizes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, sizes: list[int]) -> None:
    """Set up the case, start the server, warm it up, measure each size, print a table."""
    url, scene = create_case(scratch)
    root = scratch / "evidence"
    headers = {"Authorization": f"Bearer {scene.token}"}
    with (
        server(scratch, url, max(sizes) + MiB) as (process, base),
        httpx.Client(timeout=600, headers=headers) as client,
    ):
        pid = process.pid
        # Warm up: imports, thread pool, first cipher contexts; then let it settle.
        transfer(client, base, scene, 4 * MiB, pid=pid, idle=_status(pid, "VmRSS"))
        _wipe(root)
        time.sleep(1)
        idle = _status(pid, "VmRSS")
        print(f"`shouhu serve` pid {pid}, idle RSS {idle / MiB:.1f} MiB (after a 4 MiB warm-up)")
        print(
            f"{'size':>10} {'upload MB/s':>12} {'up peak MiB':>12} {'(sampled)':>10} "
            f"{'download MB/s':>14} {'first byte s':>13} {'down peak MiB':>14} {'(sampled)':>10}"
        )
        worst = 0
        for size in sizes:
            up, down = transfer(client, base, scene, size, pid=pid, idle=idle)
            _wipe(root)
            worst = max(worst, up.hwm_above_idle, down.hwm_above_idle)
            print(
                f"{_human(size):>10} {size / 1e6 / up.seconds:>12.1f} "
                f"{up.hwm_above_idle / MiB:>12.1f} {up.sampled_above_idle / MiB:>10.1f} "
                f"{size / 1e6 / down.seconds:>14.1f} {down.first_byte_seconds or 0:>13.2f} "
                f"{down.hwm_above_idle / MiB:>14.1f} {down.sampled_above_idle / MiB:>10.1f}"
            )
        verdict = "within" if worst <= TARGET_MIB * MiB else "OVER"
        print(f"peak above idle {worst / MiB:.1f} MiB: {verdict} the {TARGET_MIB} MiB target")


def _wipe(root: Path) -> None:
    shutil.rmtree(root / "sha256", ignore_errors=True)


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


if __name__ == "__main__":
    main()

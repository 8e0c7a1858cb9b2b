"""Upload and download a large evidence file through a real server; report speed and memory.

Issue 6: "a 2 GB recording uploads and downloads in constant memory" — the target is a server
peak of at most 200 MiB above idle, whatever the file's size. The script starts uvicorn in a
subprocess serving the evidence glue (onestop/streaming.py) over an encrypted BlobStore in a
scratch directory, then for each size:

- uploads a body generated on the fly (never held whole by the client) with `PUT /evidence`,
- downloads it with `GET /evidence/{sha256}` (the server verifies the whole file first, then
  streams it), hashing what arrives and comparing with what was sent,
- prints MB/s (10⁶ bytes a second) each way, the download's time to first byte (the
  verification pass), and the server's peak RSS above idle for each phase: VmHWM, reset before
  each phase through /proc/<pid>/clear_refs, and a 20 ms VmRSS sampler as a cross-check.

Blobs are deleted after each size, and the scratch directory at the end.

    .venv/bin/python bench/evidence_streaming.py                 # 256M and 2G
    .venv/bin/python bench/evidence_streaming.py --sizes 64M,1G --root /srv/scratch

`--app module:factory` serves another application instead (a callable returning an ASGI app
with the same two routes), so the real case routes can be measured the same way once they
exist.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shouhu.core.crypto.keyring import Keyring
from shouhu.onestop.blobs import BlobStore, BlobTooLargeError, TamperedBlobError
from shouhu.onestop.streaming import blocked_download_response, receive_body, verified_download

MiB = 1 << 20
OK, CREATED = 200, 201
BLOCK = 1 * MiB
TARGET_MIB = 200
MASTER_FIELD_KEY = bytes(range(32))  # a fixed key: the bench measures speed, not secrecy


def make_app(store: BlobStore, *, max_bytes: int) -> Starlette:
    """The evidence glue with nothing around it: raw upload, verified download, health."""

    async def upload(request: Request) -> Response:
        try:
            blob = await receive_body(store, request, max_bytes=max_bytes)
        except BlobTooLargeError:
            return JSONResponse({"detail": "too_large"}, status_code=413)
        return JSONResponse({"sha256": blob.sha256, "size": blob.size}, status_code=201)

    async def download(request: Request) -> Response:
        try:
            return await verified_download(
                store, request.path_params["sha256"], filename="录像.bin"
            )
        except TamperedBlobError as error:
            return blocked_download_response(error)

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/evidence", upload, methods=["PUT"]),
            Route("/evidence/{sha256}", download),
            Route("/health", health),
        ]
    )


def bench_keyring() -> Keyring:
    """An in-memory keyring: the bench needs no database."""
    return Keyring(
        field_keys={"field-bench": MASTER_FIELD_KEY},
        active_field_key_id="field-bench",
        blind_index_key=bytes(32),
        signing_key_id="signing-bench",
        signing_key=Ed25519PrivateKey.generate(),
    )


def default_app() -> Starlette:
    """The app the server subprocess serves unless `--app` names another factory."""
    root = Path(os.environ["SHOUHU_BENCH_EVIDENCE_ROOT"])
    max_bytes = int(os.environ["SHOUHU_BENCH_MAX_BYTES"])
    return make_app(BlobStore(root, keyring=bench_keyring()), max_bytes=max_bytes)


def serve(args: argparse.Namespace) -> None:
    """Run uvicorn in this process (the subprocess side)."""
    import uvicorn  # noqa: PLC0415 - only the server side needs it

    module, _, name = args.app.partition(":")
    factory: Callable[[], Any] = getattr(importlib.import_module(module), name)
    uvicorn.run(factory(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


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
def server(root: Path, app: str, max_bytes: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The uvicorn subprocess, up and answering."""
    port = free_port()
    env = {
        **os.environ,
        "SHOUHU_BENCH_EVIDENCE_ROOT": str(root),
        "SHOUHU_BENCH_MAX_BYTES": str(max_bytes),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "serve", "--port", str(port), "--app", app], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == OK:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


def transfer(
    client: httpx.Client, base: str, size: int, pid: int, idle: int
) -> tuple[Phase, Phase]:
    """Upload `size` generated bytes, download them, check the hash; measure both."""
    sent = hashlib.sha256()
    with measured(pid, idle) as up:
        response = client.put(
            f"{base}/evidence",
            content=generated_body(size, sent),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
    assert response.status_code == CREATED, response.text
    stored = response.json()
    assert stored == {"sha256": sent.hexdigest(), "size": size}, stored
    received = hashlib.sha256()
    count = 0
    with measured(pid, idle) as down:
        start = time.perf_counter()
        with client.stream("GET", f"{base}/evidence/{stored['sha256']}") as streamed:
            assert streamed.status_code == OK
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
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--app", default="evidence_streaming:default_app")
    parser.add_argument("--sizes", default="256M,2G")
    parser.add_argument("--root", type=Path, default=None, help="scratch directory's parent")
    parser.add_argument("--app", default="evidence_streaming:default_app")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return

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
        run(scratch, sizes, args.app)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, sizes: list[int], app: str) -> None:
    """Start the server, warm it up, measure each size, print a table."""
    root = scratch / "evidence"
    with (
        server(root, app, max(sizes) + MiB) as (process, base),
        httpx.Client(timeout=600) as client,
    ):
        pid = process.pid
        # Warm up: imports, thread pool, first cipher contexts; then let it settle.
        transfer(client, base, 4 * MiB, pid, _status(pid, "VmRSS"))
        _wipe(root)
        time.sleep(1)
        idle = _status(pid, "VmRSS")
        print(f"server pid {pid}, idle RSS {idle / MiB:.1f} MiB (after a 4 MiB warm-up)")
        print(
            f"{'size':>10} {'upload MB/s':>12} {'up peak MiB':>12} {'(sampled)':>10} "
            f"{'download MB/s':>14} {'first byte s':>13} {'down peak MiB':>14} {'(sampled)':>10}"
        )
        worst = 0
        for size in sizes:
            up, down = transfer(client, base, size, pid, idle)
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

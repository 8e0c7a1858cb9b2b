"""The Starlette glue: uploads stream into the store, downloads stream out verified."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shouhu.onestop import streaming
from shouhu.onestop.blobs import (
    HEADER_BYTES,
    SEGMENT_SIZE,
    BlobStore,
    BlobTooLargeError,
    Damage,
    StoredBlob,
    TamperedBlobError,
    VerifiedBlob,
)
from shouhu.onestop.streaming import (
    BLOCKED_STATUS,
    InvalidUploadError,
    blocked_download_response,
    content_disposition,
    declared_length,
    receive_body,
    receive_multipart,
    receive_upload_file,
    verified_download,
)
from tests.onestop.evidence_helpers import chunked, flip_bit, make_ring

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio
LIMIT = 4 * SEGMENT_SIZE
MARKER = "询问笔录-MARKER".encode()
NAME = "询问录像 第1次.mp4"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _stored(blob: StoredBlob) -> dict[str, Any]:
    return {"sha256": blob.sha256, "size": blob.size, "outcome": blob.outcome}


def make_app(store: BlobStore, alerts: list[dict[str, Any]], seen: dict[str, Any]) -> Starlette:
    """The routes the case pages will have, without the case: upload three ways, download."""

    async def put_raw(request: Request) -> Response:
        try:
            blob = await receive_body(store, request, max_bytes=LIMIT)
        except BlobTooLargeError:
            return JSONResponse({"detail": "too_large"}, status_code=413)
        return JSONResponse(_stored(blob), status_code=201)

    async def post_form(request: Request) -> Response:
        try:
            upload = await receive_multipart(store, request, max_bytes=LIMIT)
        except BlobTooLargeError:
            return JSONResponse({"detail": "too_large"}, status_code=413)
        except InvalidUploadError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse(
            {**_stored(upload.blob), "filename": upload.filename, "fields": upload.fields},
            status_code=201,
        )

    async def post_spooled(request: Request) -> Response:
        async with request.form() as form:
            upload = form["file"]
            assert isinstance(upload, UploadFile)
            seen["in_memory"] = upload._in_memory
            blob = await receive_upload_file(store, upload, max_bytes=LIMIT)
        return JSONResponse(_stored(blob), status_code=201)

    async def get_blob(request: Request) -> Response:
        try:
            return await verified_download(
                store, request.path_params["sha256"], filename=request.query_params["name"]
            )
        except TamperedBlobError as error:
            alerts.append(error.alert_details())  # the real route audits and alerts
            return blocked_download_response(error)

    return Starlette(
        routes=[
            Route("/evidence", put_raw, methods=["PUT"]),
            Route("/evidence/form", post_form, methods=["POST"]),
            Route("/evidence/spooled", post_spooled, methods=["POST"]),
            Route("/evidence/{sha256}", get_blob),
        ]
    )


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "evidence", keyring=make_ring())


@pytest.fixture
def alerts() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def seen() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(
    store: BlobStore, alerts: list[dict[str, Any]], seen: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(store, alerts, seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://evidence.test") as client:
        yield client


def files_under(store: BlobStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file())


async def body_of(data: bytes, size: int = 65_536) -> AsyncIterator[bytes]:
    for piece in chunked(data, size):
        yield piece


# Raw bodies


async def test_a_raw_upload_streams_in_and_the_download_streams_out_verified(
    client: httpx.AsyncClient, store: BlobStore
) -> None:
    data = MARKER + secrets.token_bytes(3 * SEGMENT_SIZE + 5)
    uploaded = await client.put("/evidence", content=body_of(data))
    assert uploaded.status_code == 201
    sha256 = hashlib.sha256(data).hexdigest()
    assert uploaded.json() == {"sha256": sha256, "size": len(data), "outcome": "created"}
    assert MARKER not in store.path_for(sha256).read_bytes()

    downloaded = await client.get(f"/evidence/{sha256}", params={"name": NAME})
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert hashlib.sha256(downloaded.content).hexdigest() == sha256
    headers = downloaded.headers
    assert headers["content-length"] == str(len(data))
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-content-type-options"] == "nosniff"
    disposition = headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == NAME
    assert headers["repr-digest"].startswith("sha-256=:")


async def test_the_download_closes_the_file(
    client: httpx.AsyncClient, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = store.put_iter([b"a short statement"], max_bytes=100)
    opened: list[VerifiedBlob] = []
    original = store.open_verified

    def spy(sha256: str) -> VerifiedBlob:
        opened.append(original(sha256))
        return opened[-1]

    monkeypatch.setattr(store, "open_verified", spy)
    response = await client.get(f"/evidence/{stored.sha256}", params={"name": "a.txt"})
    assert response.content == b"a short statement"
    assert opened[0]._file.closed


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for index in range(LIMIT // 65_536 + 2):
            pulled.append(index)
            yield b"x" * 65_536

    async def never(*_args: object, **_kwargs: object) -> StoredBlob:
        raise AssertionError("the store was asked to read the body")

    monkeypatch.setattr(store, "put", never)
    response = await client.put(
        "/evidence", content=body(), headers={"Content-Length": str(LIMIT + 1)}
    )
    assert response.status_code == 413
    assert files_under(store) == []
    assert len(pulled) <= 1, "the body was not read"


async def test_a_chunked_upload_over_the_limit_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, store: BlobStore
) -> None:
    response = await client.put("/evidence", content=body_of(b"x" * (LIMIT + 1)))
    assert response.status_code == 413
    assert files_under(store) == []


@pytest.mark.parametrize(("header", "expected"), [(None, None), (b"0", 0), (b"12345", 12345)])
async def test_declared_length_reads_the_header(header: bytes | None, expected: int | None) -> None:
    headers = [(b"content-length", header)] if header is not None else []
    request = Request({"type": "http", "method": "PUT", "headers": headers})
    assert declared_length(request) == expected


@pytest.mark.parametrize("header", [b"-1", b"12a", b"1e9", b" "])
async def test_a_malformed_length_is_refused(header: bytes) -> None:
    request = Request({"type": "http", "method": "PUT", "headers": [(b"content-length", header)]})
    with pytest.raises(InvalidUploadError):
        declared_length(request)


# Multipart forms


async def test_a_form_upload_streams_without_starlettes_spooling(
    client: httpx.AsyncClient, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_spooling(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the form was spooled")

    monkeypatch.setattr("starlette.formparsers.SpooledTemporaryFile", no_spooling)
    data = MARKER + secrets.token_bytes(2 * SEGMENT_SIZE + 17)
    response = await client.post(
        "/evidence/form",
        files={"file": (NAME, data, "video/mp4")},
        data={"case": "案件 A-1", "note": "第一次询问"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    assert body["filename"] == NAME
    assert body["fields"] == {"case": "案件 A-1", "note": "第一次询问"}
    with store.open_verified(body["sha256"]) as blob:
        assert b"".join(blob.chunks()) == data


@pytest.mark.parametrize(
    ("files", "data", "message"),
    [
        ({}, {"case": "A-1"}, "no file"),
        ({"other": ("a.mp4", b"x", "video/mp4")}, {}, "unexpected file"),
        (
            [("file", ("a.mp4", b"x", "video/mp4")), ("file", ("b.mp4", b"y", "video/mp4"))],
            {},
            "unexpected file",
        ),
        (
            {"file": ("a.mp4", b"x", "video/mp4")},
            {f"f{i}": "v" for i in range(streaming.MAX_FORM_FIELDS + 1)},
            "too many fields",
        ),
        (
            {"file": ("a.mp4", b"x", "video/mp4")},
            {"note": "x" * (streaming.MAX_FORM_FIELD_BYTES + 1)},
            "too long",
        ),
    ],
)
async def test_unexpected_forms_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, store: BlobStore, files: Any, data: Any, message: str
) -> None:
    if files:
        response = await client.post("/evidence/form", files=files, data=data)
    else:
        # A form with no file part at all (httpx sends a file-less form url-encoded).
        response = await client.post(
            "/evidence/form",
            content=b'--b\r\nContent-Disposition: form-data; name="case"\r\n\r\nA-1\r\n--b--\r\n',
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert files_under(store) == []


async def test_a_body_that_is_not_a_form_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/evidence/form", content=b"garbage", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400


async def test_a_form_file_over_the_limit_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, store: BlobStore
) -> None:
    response = await client.post(
        "/evidence/form", files={"file": ("big.mp4", b"x" * (LIMIT + 1), "video/mp4")}
    )
    assert response.status_code == 413
    assert files_under(store) == []


async def test_starlettes_own_form_parsing_spools_large_files_to_disk(
    client: httpx.AsyncClient, store: BlobStore, seen: dict[str, Any]
) -> None:
    # Why receive_multipart exists: a parsed UploadFile over 1 MiB has been written, in
    # plaintext, to a temporary file before the route runs. It still stores correctly.
    data = secrets.token_bytes(SEGMENT_SIZE + 1)
    response = await client.post("/evidence/spooled", files={"file": ("a.mp4", data, "video/mp4")})
    assert response.status_code == 201
    assert seen["in_memory"] is False
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_spooled_upload_over_the_limit_is_refused_by_its_size(store: BlobStore) -> None:
    upload = UploadFile(file=_BytesFile(b"x" * 10), size=10, filename="a")
    with pytest.raises(BlobTooLargeError):
        await receive_upload_file(store, upload, max_bytes=9)


class _BytesFile:
    """A minimal binary file for UploadFile."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.pos + size
        chunk, self.pos = self.data[self.pos : end], min(end, len(self.data))
        return chunk

    def seek(self, pos: int) -> None:
        self.pos = pos


# Blocked downloads


async def test_a_tampered_file_is_blocked_and_raises_an_alert(
    client: httpx.AsyncClient, store: BlobStore, alerts: list[dict[str, Any]]
) -> None:
    data = MARKER * 1000
    stored = store.put_iter([data], max_bytes=len(data))
    flip_bit(stored.path, HEADER_BYTES + 100)
    response = await client.get(f"/evidence/{stored.sha256}", params={"name": NAME})
    assert response.status_code == BLOCKED_STATUS
    assert response.json() == {"detail": "evidence_integrity_failure", "sha256": stored.sha256}
    assert MARKER not in response.content
    assert "content-disposition" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert alerts == [
        {
            "expected_sha256": stored.sha256,
            "found_sha256": None,
            "damage": "segment",
            "segment": 0,
        }
    ]


async def test_a_missing_file_is_blocked_and_raises_an_alert(
    client: httpx.AsyncClient, alerts: list[dict[str, Any]]
) -> None:
    sha256 = hashlib.sha256(b"never stored").hexdigest()
    response = await client.get(f"/evidence/{sha256}", params={"name": "x"})
    assert response.status_code == BLOCKED_STATUS
    assert alerts[0]["damage"] == "missing"


def test_the_blocked_response_carries_no_content() -> None:
    error = TamperedBlobError("a" * 64, Damage.SEGMENT, "segment 2 fails", segment=2)
    response = blocked_download_response(error)
    assert response.status_code == 409
    assert b"segment" not in response.body


# Content-Disposition


@pytest.mark.parametrize(
    ("name", "fallback", "real"),
    [
        ("interview.mp4", "interview.mp4", "interview.mp4"),
        ("询问录像.mp4", "evidence.mp4", "询问录像.mp4"),
        ("询问录像", "evidence", "询问录像"),
        ("案件A-1 录像.mp4", "__A-1 __.mp4", "案件A-1 录像.mp4"),
        ('a"b\\c.txt', "c.txt", "c.txt"),
        ("../../etc/passwd", "passwd", "passwd"),
        (
            'evil".mp4\r\nSet-Cookie: x=1',
            "evil_.mp4__Set-Cookie: x=1",
            'evil".mp4\r\nSet-Cookie: x=1',
        ),
        ("", "evidence", "evidence"),
    ],
)
def test_content_disposition_is_safe_for_any_name(name: str, fallback: str, real: str) -> None:
    header = content_disposition(name)
    assert header == (f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{_quoted(real)}")
    assert "\r" not in header
    assert "\n" not in header
    assert header.count('"') == 2
    assert unquote(header.split("filename*=UTF-8''")[1]) == real
    header.encode("latin-1")  # a header must be sendable as it is


def _quoted(value: str) -> str:
    return quote(value, safe="!#$&+^`|")


def test_content_disposition_inline() -> None:
    assert content_disposition("a.mp4", inline=True).startswith('inline; filename="a.mp4"')

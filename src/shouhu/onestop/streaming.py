"""Starlette glue: evidence uploads streamed into the BlobStore, verified downloads out of it.

Three ways in, by what they cost (docs/evidence-storage.md):

- `receive_body`: the raw request body (`PUT` with the file as the body, as `fetch(url,
  {method: "PUT", body: file})` sends it from a browser). Nothing is buffered beyond one
  segment, nothing touches the disk unencrypted, and a `Content-Length` over the limit is
  refused before a byte is read. The way evidence should arrive.
- `receive_multipart`: a `multipart/form-data` form, parsed as it streams in (python-multipart,
  which Starlette itself uses), the file part fed straight into the store: the same constant
  memory and no plaintext on disk, for plain HTML forms.
- `receive_upload_file`: an `UploadFile` Starlette has already parsed. By then Starlette has
  spooled the whole file: in memory up to 1 MiB (`MultiPartParser.spool_max_size`), then into
  an unnamed temporary file in `tempfile.gettempdir()` — unencrypted plaintext on disk, as large
  as the upload, with no size limit on file parts. Only for code that already holds one.

And one way out: `verified_download` verifies the whole file before the response starts, so a
damaged file is refused with a clean error instead of a truncated download.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.responses import JSONResponse, StreamingResponse

from shouhu.onestop.blobs import (
    SEGMENT_SIZE,
    BlobStore,
    BlobTooLargeError,
    StoredBlob,
    TamperedBlobError,
    VerifiedBlob,
)

if TYPE_CHECKING:
    from starlette.datastructures import UploadFile
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

# RFC 9110 §15.5.10: the stored file's state conflicts with serving it. Distinct from a 500,
# so a page can say "this file failed its integrity check; an alert was raised".
BLOCKED_STATUS: Final = 409
# What a multipart form may carry besides the file: a few short text fields.
MAX_FORM_FIELDS: Final = 32
MAX_FORM_FIELD_BYTES: Final = 64 * 1024
MAX_PART_HEADER_BYTES: Final = 16 * 1024
# The multipart framing and the text fields around the file, over the file's own limit.
MULTIPART_ALLOWANCE: Final = MAX_FORM_FIELDS * (MAX_FORM_FIELD_BYTES + MAX_PART_HEADER_BYTES)
_FILENAME_FALLBACK_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')
# RFC 8187 attr-char, less what `quote` always keeps (letters, digits, "_.-~").
_ATTR_CHAR_EXTRA = "!#$&+^`|"


class InvalidUploadError(ValueError):
    """The request is not an upload this glue accepts (bad length, bad or unexpected form)."""


def declared_length(request: Request) -> int | None:
    """The request's Content-Length, or None when it is sent chunked."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidUploadError("Content-Length is not a number")
    return int(value)


def refuse_if_declared_too_large(request: Request, limit: int) -> None:
    """Refuse at once, before a byte of the body is read, when Content-Length says too much.

    Uvicorn sends `100 Continue` only when the application first reads the body, so a client
    that waits for it (curl does, for large bodies) does not even start sending.
    """
    length = declared_length(request)
    if length is not None and length > limit:
        raise BlobTooLargeError(limit)


async def receive_body(store: BlobStore, request: Request, *, max_bytes: int) -> StoredBlob:
    """Store the raw request body as one evidence file, streamed in constant memory."""
    refuse_if_declared_too_large(request, max_bytes)
    return await store.put(request.stream(), max_bytes=max_bytes)


async def receive_upload_file(
    store: BlobStore, upload: UploadFile, *, max_bytes: int, chunk_size: int = SEGMENT_SIZE
) -> StoredBlob:
    """Store an `UploadFile` Starlette has already spooled, read back `chunk_size` at a time.

    Memory stays at one chunk here, but Starlette wrote the plaintext to a temporary file
    first (see the module docstring); prefer `receive_multipart` or `receive_body`.
    """
    if upload.size is not None and upload.size > max_bytes:
        raise BlobTooLargeError(max_bytes)
    await upload.seek(0)

    async def chunks() -> AsyncIterator[bytes]:
        while data := await upload.read(chunk_size):
            yield data

    return await store.put(chunks(), max_bytes=max_bytes)


@dataclass
class MultipartUpload:
    """What a streamed form upload gave: the stored file, its declared name and type, fields."""

    blob: StoredBlob
    filename: str | None
    content_type: str | None
    fields: dict[str, str]


@dataclass
class _FormState:
    """What the parser callbacks learn; file bytes wait in `file_data` until fed to the store."""

    file_field: str
    file_data: list[bytes] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content_type: str | None = None
    file_seen: bool = False
    kind: str = ""  # "file", "field" for the part being read
    name: str = ""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    header_bytes: int = 0
    value: bytearray = field(default_factory=bytearray)

    def on_part_begin(self) -> None:
        self.headers, self.kind, self.name, self.header_bytes = {}, "", "", 0
        self.value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += data[start:end]

    def _count_header(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > MAX_PART_HEADER_BYTES:
            raise InvalidUploadError("a form part's headers are too long")

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise InvalidUploadError("a form part has no name")
        self.name = options[b"name"].decode("utf-8", errors="replace")
        if b"filename" in options:
            # One evidence file per request: a second file would need a second item anyway.
            if self.name != self.file_field or self.file_seen:
                raise InvalidUploadError("the form carries an unexpected file")
            self.kind, self.file_seen = "file", True
            self.filename = options[b"filename"].decode("utf-8", errors="replace")
            content_type = self.headers.get(b"content-type")
            self.content_type = content_type.decode("latin-1") if content_type else None
        else:
            if len(self.fields) >= MAX_FORM_FIELDS:
                raise InvalidUploadError("the form has too many fields")
            self.kind = "field"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.kind == "file":
            self.file_data.append(data[start:end])
        elif self.kind == "field":
            if len(self.value) + end - start > MAX_FORM_FIELD_BYTES:
                raise InvalidUploadError("a form field is too long")
            self.value += data[start:end]

    def on_part_end(self) -> None:
        if self.kind == "field":
            self.fields[self.name] = self.value.decode("utf-8", errors="replace")
        self.kind = ""


async def _file_part(
    request: Request, state: _FormState, parser: MultipartParser
) -> AsyncIterator[bytes]:
    """The file part's bytes as the body streams in; the rest of the form is read too."""
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            pending, state.file_data = state.file_data, []
            for data in pending:
                yield data
        parser.finalize()
    except FormParserError as exc:
        raise InvalidUploadError("the form is not valid multipart data") from exc
    if not state.file_seen:
        raise InvalidUploadError(f"the form has no file in the field {state.file_field!r}")
    for data in state.file_data:
        yield data


async def receive_multipart(
    store: BlobStore, request: Request, *, max_bytes: int, file_field: str = "file"
) -> MultipartUpload:
    """Store the one file of a `multipart/form-data` request as it streams in.

    The file part goes to the store segment by segment: no spooling, no plaintext on disk,
    memory bounded by a segment plus the small text fields (at most MAX_FORM_FIELDS of
    MAX_FORM_FIELD_BYTES each), which are returned.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidUploadError("expected a multipart/form-data body")
    refuse_if_declared_too_large(request, max_bytes + MULTIPART_ALLOWANCE)
    state = _FormState(file_field=file_field)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": state.on_part_begin,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
        },
    )
    blob = await store.put(_file_part(request, state, parser), max_bytes=max_bytes)
    return MultipartUpload(blob, state.filename, state.content_type, state.fields)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header for any file name, Chinese included (RFC 6266, RFC 8187).

    `filename*` carries the real name, UTF-8 and percent-encoded; `filename` an ASCII stand-in
    for old clients. Path separators are dropped, and quotes, backslashes and control
    characters cannot reach the header.
    """
    name = re.split(r"[/\\]", filename)[-1].strip() or "evidence"
    fallback = _FILENAME_FALLBACK_UNSAFE.sub("_", name)
    if not re.search(r"[A-Za-z0-9]", fallback.rsplit(".", 1)[0]):
        # Nothing readable left (an all-Chinese name): a generic stem, keeping an ASCII suffix.
        suffix = fallback.rsplit(".", 1)[1] if "." in fallback else ""
        fallback = "evidence" + (f".{suffix}" if suffix.isalnum() else "")
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe=_ATTR_CHAR_EXTRA)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


class VerifiedBlobResponse(StreamingResponse):
    """The plaintext of a verified blob, streamed; the file is closed however the send ends."""

    def __init__(
        self,
        blob: VerifiedBlob,
        *,
        filename: str,
        media_type: str = "application/octet-stream",
        inline: bool = False,
    ) -> None:
        """Stream `blob` with its length, a safe disposition and no caching anywhere."""
        self.blob = blob
        digest = base64.b64encode(bytes.fromhex(blob.sha256)).decode()
        super().__init__(
            blob.achunks(),
            media_type=media_type,
            headers={
                "Content-Length": str(blob.size),
                "Content-Disposition": content_disposition(filename, inline=inline),
                # Evidence never rests in a browser or proxy cache.
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                # RFC 9530: the client can check the bytes it received against the store's hash.
                "Repr-Digest": f"sha-256=:{digest}:",
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response; close the file even if the client went away midway."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.blob.close()


async def verified_download(
    store: BlobStore,
    sha256: str,
    *,
    filename: str,
    media_type: str = "application/octet-stream",
    inline: bool = False,
) -> VerifiedBlobResponse:
    """Verify the whole blob, then return a response that streams it.

    Raises TamperedBlobError (BlobKeyError included) before any response exists: the caller
    blocks the download (`blocked_download_response`) and raises the alert (issue 6, item 5).
    """
    blob = await store.open_verified_async(sha256)
    return VerifiedBlobResponse(blob, filename=filename, media_type=media_type, inline=inline)


def blocked_download_response(error: TamperedBlobError) -> JSONResponse:
    """The refusal a user gets for a damaged or unreadable file: which file, no content."""
    return JSONResponse(
        {"detail": "evidence_integrity_failure", "sha256": error.expected},
        status_code=BLOCKED_STATUS,
        headers={"Cache-Control": "no-store"},
    )

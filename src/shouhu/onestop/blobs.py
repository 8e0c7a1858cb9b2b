"""Content-addressed, encrypted, streaming storage for evidence files (issue 6, item 5).

A stored blob is one file, `<root>/sha256/ab/cd/<sha256 of the plaintext>`:

    header (153 bytes)  magic, version, segment size, nonce prefix, plaintext size and SHA-256,
                        the id of the field key that wraps the data key, the wrapped data key
    segment 0 .. n-1    AES-256-GCM under the file's own random data key, `segment size`
                        bytes of plaintext each (the last one 0..segment size) + a 16-byte tag

Segments follow the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015, as in
Tink's streaming AEAD): the nonce is a random 7-byte prefix, a 4-byte segment counter and a
last-segment flag, and the associated data repeats counter and flag and binds the header, so a
segment altered, reordered, swapped in from another file, dropped from the end or appended
after the last one fails authentication. The last segment's associated data also binds the
plaintext's size and SHA-256, and the wrapped data key is bound to the whole header, so the
header cannot be edited either. docs/evidence-storage.md explains each choice.

Issue 6: the SHA-256 is computed on upload and re-verified on every download, and a mismatch
blocks the download: `open_verified` decrypts and hashes the whole file before it hands out a
single byte, then streams from the same open file, authenticating each segment again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import struct
import time
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, Self

import anyio.to_thread
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shouhu.core.crypto.keyring import KEY_BYTES, NONCE_BYTES, KeyError_, current_keyring
from shouhu.core.settings import get_settings

if TYPE_CHECKING:
    from shouhu.core.crypto.keyring import Keyring

MAGIC = b"SHEVBLOB"
VERSION = 1
SEGMENT_SIZE = 1 << 20  # 1 MiB: constant memory, and a tag costs 16 bytes per MiB
MIN_SEGMENT_SIZE = 16  # tests use tiny segments; stored files say what they use
MAX_SEGMENT_SIZE = 64 << 20  # a forged header must not make a reader allocate gigabytes
TAG_BYTES = 16
NONCE_PREFIX_BYTES = 7
MAX_SEGMENTS = 1 << 32  # the counter is 4 bytes; at 1 MiB a segment that is 4 PiB
KEY_ID_BYTES = 32  # crypto_keys.id is String(32)
WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES
# magic | version | segment size | nonce prefix | plaintext size | sha256 | key id length |
# key id (zero-padded) | wrap nonce | wrapped data key
_HEADER = struct.Struct(
    f">8sBI{NONCE_PREFIX_BYTES}sQ32sB{KEY_ID_BYTES}s{NONCE_BYTES}s{WRAPPED_KEY_BYTES}s"
)
HEADER_BYTES = _HEADER.size
# The header's first 20 bytes name the stream (known before the first segment); the next 40
# hold the plaintext's size and SHA-256 (known only after the last). The rest is the key wrap,
# the one part that changes when the field key is rotated.
_STREAM_ID_END = 8 + 1 + 4 + NONCE_PREFIX_BYTES
_CONTENT_END = _STREAM_ID_END + 8 + 32
_SEGMENT_AAD = b"shouhu|evidence-segment|"
_KEY_AAD = b"shouhu|evidence-key|"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_READ_CHUNK = 1 << 20


class BlobError(Exception):
    """Something went wrong storing or reading an evidence file."""


class BlobTooLargeError(BlobError):
    """The upload is larger than the caller allows; nothing was stored."""

    def __init__(self, max_bytes: int) -> None:
        """Say what the limit was."""
        super().__init__(f"the file is larger than the {max_bytes} bytes allowed")
        self.max_bytes = max_bytes


class Damage(StrEnum):
    """Why a stored file was refused: one code per way it can be found damaged."""

    MISSING = "missing"  # no file at the blob's address
    NOT_A_BLOB = "not_a_blob"  # the header is unreadable: wrong magic, version, or cut short
    WRONG_ADDRESS = "wrong_address"  # the header names another SHA-256: a file moved or swapped
    KEY_UNAVAILABLE = "key_unavailable"  # the key id is not in the keyring (or was altered)
    KEY_WRAP = "key_wrap"  # the wrapped data key fails authentication: the header was edited
    SEGMENT = "segment"  # a segment fails authentication: altered, reordered or swapped in
    TRUNCATED = "truncated"  # the file ends before its last segment
    APPENDED = "appended"  # bytes follow the last segment
    HASH_MISMATCH = "hash_mismatch"  # every tag holds, yet the plaintext hashes differently


class TamperedBlobError(BlobError):
    """A stored file fails verification; callers block the download and raise an alert.

    Carries what was expected and what was found (a hash, or the damage and the segment where
    it starts), never plaintext.
    """

    def __init__(
        self,
        expected: str,
        damage: Damage,
        message: str,
        *,
        found: str | None = None,
        segment: int | None = None,
    ) -> None:
        """Describe the damage found in the blob that should hash to `expected`."""
        super().__init__(f"evidence file {expected}: {message}")
        self.expected = expected
        self.damage = damage
        self.found = found
        self.segment = segment

    def alert_details(self) -> dict[str, Any]:
        """What an alert or audit event records about the damage (no plaintext, no keys)."""
        return {
            "expected_sha256": self.expected,
            "found_sha256": self.found,
            "damage": self.damage.value,
            "segment": self.segment,
        }


class BlobKeyError(TamperedBlobError):
    """The file's data key is wrapped under a field key id this keyring does not hold.

    A retired key, a file copied from another installation, or an altered key id: the store
    cannot tell which, and cannot verify the file, so the download is blocked all the same.
    """

    def __init__(self, expected: str, key_id: str) -> None:
        """Name the missing key."""
        super().__init__(
            expected,
            Damage.KEY_UNAVAILABLE,
            f"wrapped under key {key_id}, which is not in the keyring",
        )
        self.key_id = key_id

    def alert_details(self) -> dict[str, Any]:
        """What an alert records: the blob, the damage code and the key it names."""
        return {**super().alert_details(), "key": self.key_id}


Outcome = Literal["created", "existing", "repaired"]


@dataclass(frozen=True)
class StoredBlob:
    """What `put` stored: the plaintext's SHA-256 and size, the wrapping key, the path.

    `outcome` is `existing` when the content was already stored (the new copy is discarded),
    and `repaired` when the stored copy failed verification and was moved to `quarantined`
    and replaced by this upload: the caller raises an alert for that.
    """

    sha256: str
    size: int
    key_id: str
    path: Path
    outcome: Outcome = "created"
    quarantined: Path | None = None
    damage: BlobError | None = None


@dataclass(frozen=True)
class _Header:
    segment_size: int
    nonce_prefix: bytes
    size: int
    sha256: str
    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes
    raw: bytes

    @property
    def segments(self) -> int:
        return segment_count(self.size, self.segment_size)


def segment_count(size: int, segment_size: int) -> int:
    """How many segments a plaintext of `size` bytes takes (an empty one takes one)."""
    return max(1, -(-size // segment_size))


def stored_size(size: int, segment_size: int = SEGMENT_SIZE) -> int:
    """The size on disk of a blob holding `size` bytes of plaintext."""
    return HEADER_BYTES + size + TAG_BYTES * segment_count(size, segment_size)


def default_root() -> Path:
    """Where the evidence store is unless told otherwise: `<data dir>/evidence`."""
    return get_settings().data_dir / "evidence"


def check_sha256(sha256: str) -> str:
    """Return the hex digest if it is one (64 lowercase hex digits); it becomes a path."""
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return sha256


def _nonce(prefix: bytes, counter: int, *, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _segment_aad(header: bytes, counter: int, *, last: bool) -> bytes:
    # The last segment also binds size and hash, which authenticates the header's claim.
    tail = header[_STREAM_ID_END:_CONTENT_END] if last else b""
    flag = b"\x01" if last else b"\x00"
    return _SEGMENT_AAD + header[:_STREAM_ID_END] + counter.to_bytes(4, "big") + flag + tail


def _key_aad(key_id: str, header: bytes) -> bytes:
    return _KEY_AAD + key_id.encode("ascii") + b"|" + header[:_CONTENT_END]


def _pack_header(
    *,
    segment_size: int,
    nonce_prefix: bytes,
    size: int,
    digest: bytes,
    key_id: str,
    wrap_nonce: bytes,
    wrapped_key: bytes,
) -> bytes:
    encoded_id = key_id.encode("ascii")
    if len(encoded_id) > KEY_ID_BYTES:
        raise BlobError(f"key id {key_id!r} is longer than {KEY_ID_BYTES} bytes")
    return _HEADER.pack(
        MAGIC,
        VERSION,
        segment_size,
        nonce_prefix,
        size,
        digest,
        len(encoded_id),
        encoded_id,
        wrap_nonce,
        wrapped_key,
    )


def _wrap_key(
    keyring: Keyring, data_key: bytes, header_without_wrap: bytes
) -> tuple[str, bytes, bytes]:
    key_id = keyring.active_field_key_id
    wrap_nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(keyring.field_key(key_id)).encrypt(
        wrap_nonce, data_key, _key_aad(key_id, header_without_wrap)
    )
    return key_id, wrap_nonce, wrapped


def _parse_header(raw: bytes, expected: str) -> _Header:
    if len(raw) < HEADER_BYTES:
        raise TamperedBlobError(
            expected, Damage.NOT_A_BLOB, "the header is cut short", segment=None
        )
    (magic, version, segment_size, prefix, size, digest, id_len, key_id, wrap_nonce, wrapped) = (
        _HEADER.unpack(raw)
    )
    if magic != MAGIC or version != VERSION:
        raise TamperedBlobError(expected, Damage.NOT_A_BLOB, "not an evidence blob of version 1")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE or id_len > KEY_ID_BYTES:
        raise TamperedBlobError(expected, Damage.NOT_A_BLOB, "the header is malformed")
    if any(key_id[id_len:]):
        # The padding is covered by no tag: it must be zeros, or a flipped bit would pass.
        raise TamperedBlobError(expected, Damage.NOT_A_BLOB, "the header is malformed")
    try:
        kid = key_id[:id_len].decode("ascii")
    except UnicodeDecodeError as exc:
        raise TamperedBlobError(expected, Damage.NOT_A_BLOB, "the header is malformed") from exc
    return _Header(segment_size, prefix, size, digest.hex(), kid, wrap_nonce, wrapped, raw)


def _check_address(header: _Header, expected: str) -> None:
    if header.sha256 != expected:
        raise TamperedBlobError(
            expected,
            Damage.WRONG_ADDRESS,
            "the file at this address holds another file's content",
            found=header.sha256,
        )


def _unwrap_data_key(header: _Header, keyring: Keyring, expected: str) -> bytes:
    try:
        field_key = keyring.field_key(header.key_id)
    except KeyError_ as exc:
        raise BlobKeyError(expected, header.key_id) from exc
    try:
        return AESGCM(field_key).decrypt(
            header.wrap_nonce, header.wrapped_key, _key_aad(header.key_id, header.raw)
        )
    except InvalidTag as exc:
        raise TamperedBlobError(
            expected, Damage.KEY_WRAP, "the header fails authentication"
        ) from exc


class _Writer:
    """One upload in progress: hash, encrypt and write segment by segment to a temp file."""

    def __init__(self, tmp_dir: Path, segment_size: int, max_bytes: int) -> None:
        self.segment_size = segment_size
        self.max_bytes = max_bytes
        self.path = tmp_dir / f"{secrets.token_hex(16)}.part"
        # 0600 from creation, as the master key file is: nobody else reads evidence, even
        # encrypted.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.file: IO[bytes] = os.fdopen(fd, "wb")
        self.data_key = AESGCM.generate_key(bit_length=256)
        self.cipher = AESGCM(self.data_key)
        self.prefix = secrets.token_bytes(NONCE_PREFIX_BYTES)
        # Placeholder until the size and hash are known; only the stream id is used meanwhile.
        self.header = _pack_header(
            segment_size=segment_size,
            nonce_prefix=self.prefix,
            size=0,
            digest=bytes(32),
            key_id="",
            wrap_nonce=bytes(NONCE_BYTES),
            wrapped_key=bytes(WRAPPED_KEY_BYTES),
        )
        self.file.write(self.header)
        self.hasher = hashlib.sha256()
        self.size = 0
        self.counter = 0
        self.pending = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Take the next plaintext bytes; write every segment that is known not to be last."""
        if self.size + len(data) > self.max_bytes:
            raise BlobTooLargeError(self.max_bytes)
        self.size += len(data)
        self.hasher.update(data)
        view = memoryview(data)
        offset = 0
        while True:
            room = self.segment_size - len(self.pending)
            if len(view) - offset <= room:
                # A full segment is held back until more data comes: it may be the last.
                self.pending += view[offset:]
                return
            self.pending += view[offset : offset + room]
            offset += room
            self._emit(last=False)

    def _emit(self, *, last: bool) -> None:
        if self.counter >= MAX_SEGMENTS:
            raise BlobError("the file has more segments than the format can number")
        sealed = self.cipher.encrypt(
            _nonce(self.prefix, self.counter, last=last),
            self.pending,
            _segment_aad(self.header, self.counter, last=last),
        )
        self.file.write(sealed)
        self.counter += 1
        self.pending = bytearray()

    def finish(self, keyring: Keyring) -> tuple[str, str]:
        """Write the last segment and the real header; fsync. Return (sha256, key id).

        The data key is wrapped under the field key active *now*, not when the upload began:
        an upload of several GB that a key rotation overtakes must not end up wrapped under
        a key the rotation has already swept for and is about to retire.
        """
        digest = self.hasher.digest()
        content = _pack_header(
            segment_size=self.segment_size,
            nonce_prefix=self.prefix,
            size=self.size,
            digest=digest,
            key_id="",
            wrap_nonce=bytes(NONCE_BYTES),
            wrapped_key=bytes(WRAPPED_KEY_BYTES),
        )
        self.header = content
        self._emit(last=True)
        key_id, wrap_nonce, wrapped = _wrap_key(keyring, self.data_key, content)
        header = _pack_header(
            segment_size=self.segment_size,
            nonce_prefix=self.prefix,
            size=self.size,
            digest=digest,
            key_id=key_id,
            wrap_nonce=wrap_nonce,
            wrapped_key=wrapped,
        )
        self.file.seek(0)
        self.file.write(header)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return digest.hex(), key_id

    def abort(self) -> None:
        """Close and delete the temp file: a refused or broken upload leaves nothing behind."""
        with contextlib.suppress(OSError):
            self.file.close()
        self.path.unlink(missing_ok=True)


class VerifiedBlob:
    """An open stored file whose every segment and whose SHA-256 have just been checked.

    `chunks()` streams the plaintext from the same open file (a file renamed over it
    meanwhile changes nothing), authenticating each segment again before yielding it: an
    in-place change made after verification stops the stream at the changed segment, and the
    last segment is held back until the whole hash matches once more.
    """

    def __init__(self, path: Path, expected: str, keyring: Keyring) -> None:
        """Open the file and verify it completely; raise TamperedBlobError."""
        self.sha256 = expected
        self.path = path
        try:
            self._file: BinaryIO = path.open("rb")
        except FileNotFoundError as exc:
            raise TamperedBlobError(expected, Damage.MISSING, "the file is missing") from exc
        try:
            self._header = _parse_header(self._file.read(HEADER_BYTES), expected)
            _check_address(self._header, expected)
            self._cipher = AESGCM(_unwrap_data_key(self._header, keyring, expected))
            self._check_pass()
        except BaseException:
            self._file.close()
            raise
        self.size = self._header.size
        self.key_id = self._header.key_id

    @property
    def header(self) -> _Header:
        """The parsed header (authenticated by the verification)."""
        return self._header

    def raw_segments(self) -> Iterator[bytes]:
        """The stored segments as they are on disk, for copying under a new header."""
        self._file.seek(HEADER_BYTES)
        return _read_chunks(self._file)

    def _segments(self) -> Iterator[bytes]:
        """Each segment's plaintext in order, authenticated; raise at the first bad one."""
        header = self._header
        self._file.seek(HEADER_BYTES)
        count = header.segments
        for counter in range(count):
            last = counter == count - 1
            plain = header.size - counter * header.segment_size if last else header.segment_size
            sealed = self._file.read(plain + TAG_BYTES)
            if len(sealed) < plain + TAG_BYTES:
                raise TamperedBlobError(
                    self.sha256,
                    Damage.TRUNCATED,
                    f"the file ends in segment {counter} of {count}",
                    segment=counter,
                )
            try:
                yield self._cipher.decrypt(
                    _nonce(header.nonce_prefix, counter, last=last),
                    sealed,
                    _segment_aad(header.raw, counter, last=last),
                )
            except InvalidTag as exc:
                raise TamperedBlobError(
                    self.sha256,
                    Damage.SEGMENT,
                    f"segment {counter} fails authentication",
                    segment=counter,
                ) from exc
        if self._file.read(1):
            raise TamperedBlobError(
                self.sha256, Damage.APPENDED, "bytes follow the last segment", segment=count
            )

    def _mismatch(self, found: str) -> TamperedBlobError:
        return TamperedBlobError(
            self.sha256, Damage.HASH_MISMATCH, "the content hashes differently", found=found
        )

    def _check_pass(self) -> None:
        hasher = hashlib.sha256()
        for plaintext in self._segments():
            hasher.update(plaintext)
        if hasher.hexdigest() != self.sha256:
            raise self._mismatch(hasher.hexdigest())

    def chunks(self) -> Generator[bytes, None, None]:
        """The plaintext, segment by segment, re-authenticated; the file is closed at the end."""
        try:
            hasher = hashlib.sha256()
            held: bytes | None = None
            for plaintext in self._segments():
                hasher.update(plaintext)
                if held:
                    yield held
                held = plaintext
            if hasher.hexdigest() != self.sha256:
                raise self._mismatch(hasher.hexdigest())
            if held:
                yield held
        finally:
            self.close()

    async def achunks(self) -> AsyncIterator[bytes]:
        """`chunks()` for the event loop: each segment is read and decrypted in a thread."""
        iterator = self.chunks()
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, iterator, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            iterator.close()
            self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __enter__(self) -> Self:
        """Use as a context manager that closes the file."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the file."""
        self.close()


class BlobStore:
    """Evidence files under `root`, encrypted, addressed by the SHA-256 of their plaintext."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        keyring: Keyring | None = None,
        segment_size: int = SEGMENT_SIZE,
    ) -> None:
        """Store under `root` (default `<data dir>/evidence`).

        Without a keyring, the process's installed one is used at each call, so a rotated
        field key is picked up by long-running servers.
        """
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError("segment size out of range")
        self.root = root if root is not None else default_root()
        self.segment_size = segment_size
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        """The keyring in use: the one given, else the process's installed keyring."""
        return self._keyring if self._keyring is not None else current_keyring()

    @property
    def tmp_dir(self) -> Path:
        """Where uploads are written before they are moved into place (same file system)."""
        return self.root / "tmp"

    @property
    def quarantine_dir(self) -> Path:
        """Where a damaged copy is kept when a fresh upload of the same content replaces it."""
        return self.root / "quarantine"

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this SHA-256 lives; refuses anything but a hex digest."""
        digest = check_sha256(sha256)
        return self.root / "sha256" / digest[:2] / digest[2:4] / digest

    def exists(self, sha256: str) -> bool:
        """Whether a file is stored at this address (not whether it is intact)."""
        return self.path_for(sha256).is_file()

    # Writing

    def _start(self, max_bytes: int) -> _Writer:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return _Writer(self.tmp_dir, self.segment_size, max_bytes)

    def _commit(self, writer: _Writer) -> StoredBlob:
        try:
            sha256, key_id = writer.finish(self.keyring)
            final = self.path_for(sha256)
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                # A hard link creates the name only if it is free: two uploads of the same
                # content racing each other cannot overwrite one another.
                os.link(writer.path, final)
            except FileExistsError:
                return self._settle_duplicate(writer, sha256, key_id)
            _fsync_dir(final.parent)
            return StoredBlob(sha256, writer.size, key_id, final)
        finally:
            writer.abort()

    def _settle_duplicate(self, writer: _Writer, sha256: str, key_id: str) -> StoredBlob:
        # Keep the stored copy: it is already referenced, backed up and verified, and the
        # content is the same (both hash to `sha256`), so only the data key differs. The new
        # copy is discarded. But a stored copy that fails verification is not kept in place:
        # it goes to quarantine (a damaged evidence file is itself evidence of tampering) and
        # the fresh upload takes its address.
        final = self.path_for(sha256)
        try:
            with VerifiedBlob(final, sha256, self.keyring) as existing:
                return StoredBlob(sha256, existing.size, existing.key_id, final, "existing")
        except TamperedBlobError as damage:
            self.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            aside = self.quarantine_dir / f"{sha256}.{time.time_ns()}"
            with contextlib.suppress(FileNotFoundError):
                final.rename(aside)
            writer.path.replace(final)
            _fsync_dir(final.parent)
            return StoredBlob(
                sha256,
                writer.size,
                key_id,
                final,
                "repaired",
                quarantined=aside,
                damage=damage,
            )

    def put_iter(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        """Store the plaintext given as chunks, in constant memory; refuse over `max_bytes`."""
        writer = self._start(max_bytes)
        try:
            for chunk in chunks:
                writer.feed(chunk)
        except BaseException:
            writer.abort()
            raise
        return self._commit(writer)

    def put_file(self, source: Path | BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Store a file (a path or a binary file object), read 1 MiB at a time."""
        if isinstance(source, Path):
            with source.open("rb") as handle:
                return self.put_iter(_read_chunks(handle), max_bytes=max_bytes)
        return self.put_iter(_read_chunks(source), max_bytes=max_bytes)

    async def put(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StoredBlob:
        """Store a stream (e.g. a request body) in constant memory; refuse over `max_bytes`.

        Chunks are gathered into segment-sized pieces, each hashed, encrypted and written in a
        worker thread while the next one is received, so the event loop never waits on the
        disk or the cipher and the network and the disk work at once. At most three pieces
        exist at a time: one being received, one queued, one being written.
        """
        writer = await anyio.to_thread.run_sync(self._start, max_bytes)
        try:
            await _pump(chunks, writer, self.segment_size, max_bytes)
        except BaseException:
            # Synchronous on purpose: it must run even when the task is being cancelled.
            writer.abort()
            raise
        return await anyio.to_thread.run_sync(self._commit, writer)

    # Reading

    def open_verified(self, sha256: str) -> VerifiedBlob:
        """Open and fully verify a blob (decrypt and hash, constant memory); then stream it.

        Raises TamperedBlobError (missing, altered, truncated, wrong content, unknown key)
        before any plaintext is handed out.
        """
        return VerifiedBlob(self.path_for(sha256), sha256, self.keyring)

    async def open_verified_async(self, sha256: str) -> VerifiedBlob:
        """`open_verified` in a worker thread: a 2 GB verification takes seconds."""
        return await anyio.to_thread.run_sync(self.open_verified, sha256)

    async def stream_verified(self, sha256: str) -> AsyncIterator[bytes]:
        """The verified plaintext as an async stream; verification ends before the first chunk.

        For an HTTP response, call `open_verified_async` first instead, so that a damaged file
        is refused before the response starts (streaming.verified_download does).
        """
        blob = await self.open_verified_async(sha256)
        try:
            async for chunk in blob.achunks():
                yield chunk
        finally:
            blob.close()

    def check(self, sha256: str) -> TamperedBlobError | None:
        """Verify a blob and return what is wrong with it, or None if it is intact."""
        try:
            self.open_verified(sha256).close()
        except TamperedBlobError as problem:
            return problem
        return None

    def verify(self, sha256: str) -> bool:
        """True when the blob is present, authentic and hashes to `sha256` (for exports)."""
        return self.check(sha256) is None

    def stored(self) -> Iterator[str]:
        """The SHA-256 of every stored blob, in order (for a sweep or a key rotation).

        Nothing when the store has no blobs yet; but a directory that cannot be read raises
        (PermissionError) instead of being skipped as `Path.glob` would: a sweep or a key
        rotation run by a user who cannot read the store must not find it empty.
        """
        base = self.root / "sha256"
        try:
            firsts = _entries(base)
        except FileNotFoundError:
            return
        for first in firsts:
            if not first.is_dir():
                continue
            for second in _entries(first.path):
                if not second.is_dir():
                    continue
                for entry in _entries(second.path):
                    if _SHA256_HEX.fullmatch(entry.name) and entry.is_file():
                        yield entry.name

    def sweep(self) -> Iterator[tuple[str, TamperedBlobError | None]]:
        """Verify every stored blob: (sha256, problem or None), one at a time."""
        for sha256 in self.stored():
            yield sha256, self.check(sha256)

    # Keys and housekeeping

    def key_id_of(self, sha256: str) -> str:
        """The id of the field key a blob's data key is wrapped under (read from its header)."""
        with self.path_for(sha256).open("rb") as handle:
            return _parse_header(handle.read(HEADER_BYTES), sha256).key_id

    def rewrap(self, sha256: str) -> bool:
        """Re-wrap a blob's data key under the active field key; False if it already is.

        Only the header changes, but the file is rewritten to a temp file, verified and
        renamed over the old one, so a crash midway leaves one intact copy or the other.
        """
        keyring = self.keyring
        with self.open_verified(sha256) as blob:
            old = blob.header
            if old.key_id == keyring.active_field_key_id:
                return False
            data_key = _unwrap_data_key(old, keyring, sha256)
            key_id, wrap_nonce, wrapped = _wrap_key(keyring, data_key, old.raw)
            header = _pack_header(
                segment_size=old.segment_size,
                nonce_prefix=old.nonce_prefix,
                size=old.size,
                digest=bytes.fromhex(old.sha256),
                key_id=key_id,
                wrap_nonce=wrap_nonce,
                wrapped_key=wrapped,
            )
            self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.tmp_dir / f"{secrets.token_hex(16)}.part"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(header)
                    for chunk in blob.raw_segments():
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                VerifiedBlob(tmp, sha256, keyring).close()
                tmp.replace(blob.path)
                _fsync_dir(blob.path.parent)
            finally:
                tmp.unlink(missing_ok=True)
        return True

    def remove(self, sha256: str) -> bool:
        """Delete a stored blob; True if there was one.

        Content addressing shares one file between evidence items with the same content: the
        caller removes it only when no item refers to it any more.
        """
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def remove_stale_uploads(self, older_than_seconds: float = 24 * 3600) -> int:
        """Delete temp files left by uploads a crash interrupted; return how many."""
        if not self.tmp_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.tmp_dir.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


async def _pump(
    chunks: AsyncIterator[bytes], writer: _Writer, segment_size: int, max_bytes: int
) -> None:
    """Feed the writer segment by segment, receiving the next piece while one is written."""
    send, receive = anyio.create_memory_object_stream[bytearray](max_buffer_size=1)

    async def write_pieces() -> None:
        async with receive:
            async for piece in receive:
                await anyio.to_thread.run_sync(writer.feed, piece)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(write_pieces)
            async with send:
                buffer = bytearray()
                received = 0
                async for chunk in chunks:
                    received += len(chunk)
                    # Refused before it is buffered: the limit holds for every byte received.
                    _check_room(received, max_bytes)
                    buffer += chunk
                    if len(buffer) >= segment_size:
                        await send.send(buffer)
                        buffer = bytearray()
                if buffer:
                    await send.send(buffer)
    except BaseExceptionGroup as errors:
        # A task group wraps what it raises; callers expect the error itself (the limit, a
        # disconnected client, a full disk).
        if len(errors.exceptions) == 1:
            raise errors.exceptions[0] from None
        raise


def _check_room(total: int, max_bytes: int) -> None:
    if total > max_bytes:
        raise BlobTooLargeError(max_bytes)


def _entries(directory: Path | str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as found:
        return sorted(found, key=lambda entry: entry.name)


def _read_chunks(handle: IO[bytes] | BinaryIO, size: int = _READ_CHUNK) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk


def _fsync_dir(directory: Path) -> None:
    # A rename or link is durable only once the directory entry itself is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

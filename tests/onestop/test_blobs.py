"""The evidence store: round trips, tamper detection, limits, dedupe, keys (issue 6, item 5)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import install_keyring
from shouhu.core.settings import get_settings
from shouhu.onestop.blobs import (
    HEADER_BYTES,
    SEGMENT_SIZE,
    TAG_BYTES,
    BlobKeyError,
    BlobStore,
    BlobTooLargeError,
    Damage,
    TamperedBlobError,
    VerifiedBlob,
    stored_size,
)
from tests.onestop.evidence_helpers import chunked, flip_bit, make_ring

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from shouhu.core.crypto.keyring import Keyring

SMALL = 64  # segment size of the tamper tests: many segments in a few hundred bytes
SMALL_DATA_SIZE = 5 * SMALL + 10  # five full segments and a short last one
MARKER = "CHILD-INTERVIEW-王小明-2026".encode()


@pytest.fixture
def ring() -> Keyring:
    return make_ring("field-evidence-a")


@pytest.fixture
def store(tmp_path: Path, ring: Keyring) -> BlobStore:
    return BlobStore(tmp_path / "evidence", keyring=ring)


@pytest.fixture
def small(tmp_path: Path, ring: Keyring) -> BlobStore:
    return BlobStore(tmp_path / "small", keyring=ring, segment_size=SMALL)


def read_all(store: BlobStore, sha256: str) -> bytes:
    with store.open_verified(sha256) as blob:
        return b"".join(blob.chunks())


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def segment_offset(index: int, segment_size: int = SMALL) -> int:
    return HEADER_BYTES + index * (segment_size + TAG_BYTES)


# Round trips


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE,
        5 * SEGMENT_SIZE + 7,
    ],
)
def test_round_trip_of_each_size_hashes_as_hashlib_does(store: BlobStore, size: int) -> None:
    data = secrets.token_bytes(size)
    stored = store.put_iter(chunked(data, 65_536), max_bytes=size)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == size
    assert stored.outcome == "created"
    assert stored.key_id == "field-evidence-a" == store.key_id_of(stored.sha256)
    assert stored.path == store.path_for(stored.sha256)
    assert stored.path.relative_to(store.root).parts == (
        "sha256",
        stored.sha256[:2],
        stored.sha256[2:4],
        stored.sha256,
    )
    assert stored.path.stat().st_size == stored_size(size)
    with store.open_verified(stored.sha256) as blob:
        assert blob.size == size
        pieces = list(blob.chunks())
    assert b"".join(pieces) == data
    # Streamed a segment at a time: no piece is larger than a segment.
    assert all(len(piece) <= SEGMENT_SIZE for piece in pieces)
    assert store.verify(stored.sha256)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=2000),
    segment_size=st.integers(min_value=16, max_value=300),
    cut=st.integers(min_value=1, max_value=700),
)
def test_any_content_any_segmentation_round_trips(data: bytes, segment_size: int, cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = BlobStore(Path(tmp), keyring=make_ring(), segment_size=segment_size)
        stored = store.put_iter(chunked(data, cut), max_bytes=len(data))
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.path.stat().st_size == stored_size(len(data), segment_size)
        assert read_all(store, stored.sha256) == data


def test_async_put_and_stream_verified_round_trip(store: BlobStore) -> None:
    data = secrets.token_bytes(3 * SEGMENT_SIZE + 123)

    async def body() -> AsyncIterator[bytes]:
        for piece in chunked(data, 65_536):
            await asyncio.sleep(0)
            yield piece

    async def run() -> tuple[str, bytes]:
        stored = await store.put(body(), max_bytes=len(data))
        received = bytearray()
        async for chunk in store.stream_verified(stored.sha256):
            received += chunk
        return stored.sha256, bytes(received)

    sha256, received = asyncio.run(run())
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert received == data


def test_put_file_reads_paths_and_file_objects(store: BlobStore, tmp_path: Path) -> None:
    data = secrets.token_bytes(SEGMENT_SIZE + 5)
    source = tmp_path / "recording.mp4"
    source.write_bytes(data)
    from_path = store.put_file(source, max_bytes=len(data))
    from_handle = store.put_file(io.BytesIO(data), max_bytes=len(data))
    assert from_path.sha256 == from_handle.sha256 == hashlib.sha256(data).hexdigest()
    assert from_handle.outcome == "existing"


# Nothing readable at rest


def test_no_plaintext_reaches_the_disk(store: BlobStore) -> None:
    data = MARKER * 50_000 + secrets.token_bytes(100) + MARKER
    stored = store.put_iter(chunked(data, 10_000), max_bytes=len(data))
    files = stored_files(store.root)
    assert files == [stored.path], "no temp file or copy is left behind"
    on_disk = stored.path.read_bytes()
    assert MARKER not in on_disk
    assert MARKER[:12] not in on_disk
    assert "王小明".encode() not in on_disk
    # The data key is never stored as it is either: only wrapped.
    assert read_all(store, stored.sha256) == data


def test_stored_files_are_private_to_the_service(store: BlobStore) -> None:
    stored = store.put_iter([b"evidence"], max_bytes=100)
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.path.parent.stat().st_mode) & 0o077 == 0


# Tampering: each stored byte, cuts, swaps, additions, deletion


@pytest.fixture
def small_blob(small: BlobStore) -> tuple[str, Path, bytes]:
    data = secrets.token_bytes(SMALL_DATA_SIZE)
    stored = small.put_iter([data], max_bytes=len(data))
    assert stored.path.stat().st_size == segment_offset(5) + 10 + TAG_BYTES
    return stored.sha256, stored.path, data


def assert_refused(store: BlobStore, sha256: str) -> TamperedBlobError:
    """The blob is refused by every reading entry point, before any plaintext."""
    with pytest.raises(TamperedBlobError) as caught:
        store.open_verified(sha256)
    assert not store.verify(sha256)

    async def first_chunk() -> bytes:
        return await anext(aiter(store.stream_verified(sha256)))

    with pytest.raises(TamperedBlobError):
        asyncio.run(first_chunk())
    assert caught.value.expected == sha256
    details = caught.value.alert_details()
    assert details["expected_sha256"] == sha256
    assert details["damage"] == caught.value.damage.value
    return caught.value


@pytest.mark.parametrize("bit", [0, 7])
def test_a_bit_flipped_anywhere_in_the_file_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes], bit: int
) -> None:
    sha256, path, _ = small_blob
    original = path.read_bytes()
    damages: dict[Damage, int] = {}
    for offset in range(len(original)):
        flip_bit(path, offset, bit)
        error = assert_refused(small, sha256)
        damages[error.damage] = damages.get(error.damage, 0) + 1
        path.write_bytes(original)
    assert small.verify(sha256)
    # Header flips are named by what they break, segment flips as segments.
    assert damages[Damage.SEGMENT] == len(original) - HEADER_BYTES
    assert Damage.KEY_WRAP in damages
    assert Damage.WRONG_ADDRESS in damages
    assert Damage.NOT_A_BLOB in damages


def test_a_flipped_segment_names_its_segment(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, path, _ = small_blob
    flip_bit(path, segment_offset(3) + 5)
    error = assert_refused(small, sha256)
    assert (error.damage, error.segment) == (Damage.SEGMENT, 3)
    assert error.found is None


def test_every_truncation_is_caught(small: BlobStore, small_blob: tuple[str, Path, bytes]) -> None:
    sha256, path, _ = small_blob
    original = path.read_bytes()
    for length in range(len(original)):
        path.write_bytes(original[:length])
        error = assert_refused(small, sha256)
        if length >= HEADER_BYTES:
            assert error.damage is Damage.TRUNCATED
    path.write_bytes(original)
    assert small.verify(sha256)


def test_a_truncation_on_a_segment_boundary_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    # Cut after a whole segment, so the file still looks like whole segments.
    sha256, path, _ = small_blob
    path.write_bytes(path.read_bytes()[: segment_offset(5)])
    assert assert_refused(small, sha256).damage is Damage.TRUNCATED


def _segments(raw: bytes) -> tuple[bytes, list[bytes]]:
    body = raw[HEADER_BYTES:]
    step = SMALL + TAG_BYTES
    return raw[:HEADER_BYTES], [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize(("first", "second"), [(0, 1), (1, 3), (3, 4), (4, 5)])
def test_swapped_segments_are_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes], first: int, second: int
) -> None:
    sha256, path, _ = small_blob
    header, segments = _segments(path.read_bytes())
    segments[first], segments[second] = segments[second], segments[first]
    path.write_bytes(header + b"".join(segments))
    error = assert_refused(small, sha256)
    assert error.damage in {Damage.SEGMENT, Damage.TRUNCATED, Damage.APPENDED}
    if second < 5:  # two full segments: the first swapped one fails at once
        assert (error.damage, error.segment) == (Damage.SEGMENT, first)


def test_a_dropped_middle_segment_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, path, _ = small_blob
    header, segments = _segments(path.read_bytes())
    del segments[2]
    path.write_bytes(header + b"".join(segments))
    assert (assert_refused(small, sha256).segment) == 2


@pytest.mark.parametrize("which", ["last", "middle", "garbage"])
def test_anything_appended_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes], which: str
) -> None:
    sha256, path, _ = small_blob
    header, segments = _segments(path.read_bytes())
    extra = {"last": segments[-1], "middle": segments[2], "garbage": b"\x00"}[which]
    path.write_bytes(header + b"".join(segments) + extra)
    error = assert_refused(small, sha256)
    assert (error.damage, error.segment) == (Damage.APPENDED, 6)


def test_a_segment_from_another_file_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    # Same layout, same key wrap: only the per-file data key and nonce prefix tell them apart.
    sha256, path, _ = small_blob
    other = small.put_iter([secrets.token_bytes(SMALL_DATA_SIZE)], max_bytes=SMALL_DATA_SIZE)
    header, segments = _segments(path.read_bytes())
    _, foreign = _segments(other.path.read_bytes())
    segments[1] = foreign[1]
    path.write_bytes(header + b"".join(segments))
    assert (assert_refused(small, sha256).segment) == 1


def test_another_file_moved_to_the_address_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, path, _ = small_blob
    other = small.put_iter([b"another file entirely"], max_bytes=100)
    path.write_bytes(other.path.read_bytes())
    error = assert_refused(small, sha256)
    assert (error.damage, error.found) == (Damage.WRONG_ADDRESS, other.sha256)


def test_another_files_header_grafted_on_is_caught(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    _, path, _ = small_blob
    other = small.put_iter([secrets.token_bytes(SMALL_DATA_SIZE)], max_bytes=SMALL_DATA_SIZE)
    other_header, _ = _segments(other.path.read_bytes())
    _, segments = _segments(path.read_bytes())
    other.path.write_bytes(other_header + b"".join(segments))
    assert assert_refused(small, other.sha256).damage is Damage.SEGMENT


def test_a_deleted_file_is_caught(small: BlobStore, small_blob: tuple[str, Path, bytes]) -> None:
    sha256, path, _ = small_blob
    path.unlink()
    assert assert_refused(small, sha256).damage is Damage.MISSING


def test_content_that_hashes_differently_is_caught(small: BlobStore) -> None:
    # Valid tags over content that is not what the header names: only a writer holding the
    # data key (a bug, or a forger with the keys) can make this; the hash still catches it.
    claimed = b"what the header claims"
    writer = small._start(max_bytes=1000)
    writer.feed(b"what was really written")
    writer.hasher = hashlib.sha256(claimed)
    writer.size = len(b"what was really written")
    sha256, _ = writer.finish(small.keyring)
    target = small.path_for(sha256)
    target.parent.mkdir(parents=True)
    writer.path.rename(target)
    assert sha256 == hashlib.sha256(claimed).hexdigest()
    error = assert_refused(small, sha256)
    assert error.damage is Damage.HASH_MISMATCH
    assert error.found == hashlib.sha256(b"what was really written").hexdigest()


def test_the_stream_holds_back_the_last_segment_until_the_hash_matches(
    small: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = secrets.token_bytes(3 * SMALL + 1)
    writer = small._start(max_bytes=1000)
    writer.feed(data)
    writer.hasher = hashlib.sha256(b"another content")
    sha256, _ = writer.finish(small.keyring)
    target = small.path_for(sha256)
    target.parent.mkdir(parents=True)
    writer.path.rename(target)
    # Pretend the first pass missed it, to see what the streaming pass does on its own.
    monkeypatch.setattr(VerifiedBlob, "_check_pass", lambda _self: None)
    blob = small.open_verified(sha256)
    received = []
    with pytest.raises(TamperedBlobError) as caught:
        received.extend(blob.chunks())
    assert caught.value.damage is Damage.HASH_MISMATCH
    assert b"".join(received) == data[: 3 * SMALL], "the last segment was never handed out"


def test_a_change_after_verification_stops_the_stream_at_that_segment(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, path, data = small_blob
    blob = small.open_verified(sha256)
    # Changed in place between the verification pass and the streaming pass.
    with path.open("r+b") as handle:
        handle.seek(segment_offset(2) + 1)
        handle.write(b"\xff")
    received = []
    with pytest.raises(TamperedBlobError) as caught:
        received.extend(blob.chunks())
    assert caught.value.segment == 2
    # Each segment is handed out once the next one has authenticated (the last one once
    # the whole hash matches), so the stream stops before segment 1, not just before 2.
    assert b"".join(received) == data[:SMALL]


def test_a_file_renamed_over_after_verification_changes_nothing(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, path, data = small_blob
    blob = small.open_verified(sha256)
    other = small.put_iter([b"x" * 500], max_bytes=500)
    other.path.replace(path)
    assert b"".join(blob.chunks()) == data


# Keys


def test_a_different_key_under_the_same_id_is_refused(
    small: BlobStore, small_blob: tuple[str, Path, bytes], tmp_path: Path
) -> None:
    sha256, _, _ = small_blob
    impostor = BlobStore(small.root, keyring=make_ring("field-evidence-a"), segment_size=SMALL)
    assert assert_refused(impostor, sha256).damage is Damage.KEY_WRAP


def test_a_key_missing_from_the_keyring_is_named(
    small: BlobStore, small_blob: tuple[str, Path, bytes]
) -> None:
    sha256, _, _ = small_blob
    elsewhere = BlobStore(small.root, keyring=make_ring("field-other"), segment_size=SMALL)
    error = assert_refused(elsewhere, sha256)
    assert isinstance(error, BlobKeyError)
    assert error.key_id == "field-evidence-a"
    assert error.alert_details()["key"] == "field-evidence-a"


def test_rewrap_moves_a_blob_to_the_active_key(
    small: BlobStore, small_blob: tuple[str, Path, bytes], ring: Keyring
) -> None:
    sha256, path, data = small_blob
    old_key = ring.field_keys["field-evidence-a"]
    rotated = make_ring("field-evidence-b", "field-evidence-a", keys={"field-evidence-a": old_key})
    during = BlobStore(small.root, keyring=rotated, segment_size=SMALL)
    segments_before = path.read_bytes()[HEADER_BYTES:]
    assert during.rewrap(sha256) is True
    assert during.key_id_of(sha256) == "field-evidence-b"
    assert path.read_bytes()[HEADER_BYTES:] == segments_before, "only the header changes"
    assert during.rewrap(sha256) is False
    after = make_ring(
        "field-evidence-b", keys={"field-evidence-b": rotated.field_keys["field-evidence-b"]}
    )
    assert read_all(BlobStore(small.root, keyring=after), sha256) == data
    assert stored_files(small.tmp_dir) == []
    # The old key alone no longer opens it.
    assert assert_refused(small, sha256).damage is Damage.KEY_UNAVAILABLE


def test_an_upload_a_rotation_overtakes_is_wrapped_under_the_new_key(
    tmp_path: Path, ring: Keyring
) -> None:
    # A store without its own keyring follows the process's, as a server's does.
    previous = keyring_module._Holder.keyring
    rotated = make_ring(
        "field-evidence-b",
        "field-evidence-a",
        keys={"field-evidence-a": ring.field_keys["field-evidence-a"]},
    )
    store = BlobStore(tmp_path / "evidence", segment_size=SMALL)

    def body() -> Iterator[bytes]:
        yield b"first part, before the rotation "
        install_keyring(rotated)  # the server notices the new key while the upload runs
        yield b"and the rest after it"

    try:
        install_keyring(ring)
        stored = store.put_iter(body(), max_bytes=1000)
    finally:
        install_keyring(previous)
    assert stored.key_id == "field-evidence-b"
    assert store.key_id_of(stored.sha256) == "field-evidence-b"
    assert read_all(BlobStore(store.root, keyring=rotated), stored.sha256) == b"".join(body())


# Limits


def test_max_bytes_is_inclusive(store: BlobStore) -> None:
    assert store.put_iter([b"12345"], max_bytes=5).size == 5


def test_over_max_bytes_is_refused_and_leaves_nothing(store: BlobStore) -> None:
    data = secrets.token_bytes(2 * SEGMENT_SIZE)
    with pytest.raises(BlobTooLargeError) as caught:
        store.put_iter(chunked(data, 100_000), max_bytes=SEGMENT_SIZE + 10)
    assert caught.value.max_bytes == SEGMENT_SIZE + 10
    assert stored_files(store.root) == []


def test_async_over_max_bytes_is_refused_before_reading_further(store: BlobStore) -> None:
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for index in range(100):
            pulled.append(index)
            yield b"x" * 65_536

    with pytest.raises(BlobTooLargeError):
        asyncio.run(store.put(body(), max_bytes=200_000))
    assert len(pulled) == 4, "stopped at the chunk that crossed the limit"
    assert stored_files(store.root) == []


def test_a_broken_upload_leaves_nothing(store: BlobStore) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x" * (3 * SEGMENT_SIZE)
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        asyncio.run(store.put(body(), max_bytes=10 * SEGMENT_SIZE))
    assert stored_files(store.root) == []


# Dedupe


def test_the_same_content_is_stored_once_and_the_first_copy_kept(store: BlobStore) -> None:
    data = secrets.token_bytes(SEGMENT_SIZE + 99)
    first = store.put_iter([data], max_bytes=len(data))
    before = first.path.read_bytes()
    inode = first.path.stat().st_ino
    second = store.put_iter(chunked(data, 1000), max_bytes=len(data))
    assert (second.outcome, second.sha256, second.path) == ("existing", first.sha256, first.path)
    assert first.path.read_bytes() == before
    assert first.path.stat().st_ino == inode
    assert stored_files(store.root) == [first.path]


def test_a_damaged_copy_is_quarantined_and_replaced_by_a_fresh_upload(store: BlobStore) -> None:
    data = secrets.token_bytes(1000)
    first = store.put_iter([data], max_bytes=len(data))
    flip_bit(first.path, HEADER_BYTES + 10)
    damaged = first.path.read_bytes()
    again = store.put_iter([data], max_bytes=len(data))
    assert again.outcome == "repaired"
    assert isinstance(again.damage, TamperedBlobError)
    assert again.damage.damage is Damage.SEGMENT
    assert again.quarantined is not None
    assert again.quarantined.read_bytes() == damaged, "the damaged copy is kept as evidence"
    assert read_all(store, again.sha256) == data


# Housekeeping


def test_a_sweep_names_the_damaged_blobs(store: BlobStore) -> None:
    good = store.put_iter([b"good"], max_bytes=10)
    bad = store.put_iter([b"bad"], max_bytes=10)
    flip_bit(bad.path, len(bad.path.read_bytes()) - 1)
    found = dict(store.sweep())
    assert found[good.sha256] is None
    problem = found[bad.sha256]
    assert problem is not None
    assert problem.damage is Damage.SEGMENT


def test_stored_lists_every_blob_in_order_and_nothing_before_the_first(
    store: BlobStore,
) -> None:
    assert list(store.stored()) == []
    assert not store.root.exists()
    hashes = [store.put_iter([bytes([n])], max_bytes=1).sha256 for n in range(20)]
    (store.root / "sha256" / "stray.txt").write_bytes(b"not a blob")
    assert list(store.stored()) == sorted(hashes)


def test_an_unreadable_directory_stops_the_listing(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sweep or a key rotation run by a user who cannot read part of the store must not take
    # it for empty (Path.glob skips what it cannot read). Root ignores modes, so fake it.
    stored = store.put_iter([b"evidence"], max_bytes=100)
    unreadable = str(store.path_for(stored.sha256).parent)
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> Any:
        if os.fspath(path) == unreadable:
            raise PermissionError(13, "Permission denied", unreadable)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PermissionError):
        list(store.stored())


@pytest.mark.parametrize(
    "address", ["../../etc/passwd", "A" * 64, "0" * 63, "g" * 64, "0" * 64 + "/x", ""]
)
def test_only_a_hex_digest_is_an_address(store: BlobStore, address: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for(address)


def test_remove_and_stale_uploads(store: BlobStore) -> None:
    stored = store.put_iter([b"to be destroyed"], max_bytes=100)
    assert store.remove(stored.sha256) is True
    assert store.remove(stored.sha256) is False
    store.tmp_dir.mkdir(exist_ok=True)
    stale = store.tmp_dir / "left-by-a-crash.part"
    stale.write_bytes(b"ciphertext")
    os.utime(stale, (0, 0))
    fresh = store.tmp_dir / "in-progress.part"
    fresh.write_bytes(b"ciphertext")
    assert store.remove_stale_uploads() == 1
    assert stored_files(store.root) == [fresh]


def test_the_default_root_is_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ring: Keyring
) -> None:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        assert BlobStore(keyring=ring).root == tmp_path / "var" / "evidence"
    finally:
        get_settings.cache_clear()

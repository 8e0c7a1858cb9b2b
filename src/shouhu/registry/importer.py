"""`shouhu registry import`: persons and records from a CSV or XLSX file (DESIGN.md §6).

The file is read twice, streaming. The first pass checks the header (a bad header stops the
import before anything is written), counts the rows and notes the last row of each `external_id`.
The second validates every row, gathers the rows of each person until the person's last row has
been read, and writes whole persons in chunked transactions, each with one `registry:import`
audit event; a failure leaves earlier chunks complete and no person half written. Rows that fail
validation are listed in `<name>.rejections.csv` beside the file (row numbers as in the file,
the header being row 1) and do not stop the others.

Importing is idempotent: a person is found by `external_id`, a document by the blind index of its
canonical number, a record by its fingerprint (kind, offence, decision number). A person whose
rows say exactly what the last import said (`person_digest`) is skipped without being read;
otherwise each stored value is decrypted and compared before anything is re-sealed. A known
person is updated: new names, documents and records are added, changed values replaced (a
replaced primary name stays as a former name, so screening still finds it; a blank says
nothing and keeps what is stored), and the blocking keys rebuilt when names, documents, birth
date or sex changed.

Performance: no query per row. The second pass goes in batches of rows, and preparing a batch
is the CPU work: validating its rows, and for each person whose last row it holds (given the
person's earlier rows), merging, the digest, and for one not yet registered the sealed rows and
blocking keys that register them. With `workers` of 2 or more and a file of `PARALLEL_MIN_ROWS`
rows or more, worker processes prepare batches ahead while this process writes; they are given
only the active field key and the blind-index key, through the pool's pipe. Either way the
chunks, their audit events, the counts and the report are the same: this process forms the
chunks from the rows' outcomes as before, and where a prepared person does not fit what the
chunk holds (a document found to belong to another person drops a row, or the person was
registered or removed since) it prepares that person again itself. Per chunk, one query finds
the owners of its documents, one its known persons (with their digests), four load the persons
that changed, and new rows go in through the driver (an executemany per table on SQLite, COPY
on PostgreSQL) with the values SQLAlchemy's column types would have bound (`_Native`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import multiprocessing
import signal
import unicodedata
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ARRAY, String, any_, delete, literal, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.crypto.fields import EncryptedField, FieldSealer
from shouhu.core.crypto.keyring import Keyring, current_keyring, install_keyring
from shouhu.core.database import transaction, utcnow
from shouhu.core.errors import ConflictError
from shouhu.core.tabular import check_header, file_error, is_blank, rows_of
from shouhu.identity.documents import CHINA, Document, IdType
from shouhu.identity.errors import IdentityError
from shouhu.identity.names import NormalisedName, normalise_name
from shouhu.identity.prc_id import latest_possible_date
from shouhu.identity.rows import Rejection, RowCheck, check_identity
from shouhu.matching.blocking import KEYS_VERSION, BlockingKey, stored_keys
from shouhu.matching.profile import ProfileDocument
from shouhu.registry.indexes import (
    IMPORT_DIGEST_DOMAIN,
    document_number_index,
    record_fingerprint,
)
from shouhu.registry.maintenance import refresh_planner_statistics
from shouhu.registry.models import (
    AUTHORITY_LENGTH,
    EXTERNAL_ID_LENGTH,
    LIVE_STATUSES,
    NameKind,
    RecordKind,
    RecordSource,
    RecordStatus,
    RegistryBlockingKey,
    RegistryDocument,
    RegistryName,
    RegistryPerson,
    RegistryRecord,
)
from shouhu.registry.policy import catalogue
from shouhu.registry.profiles import (
    build_profile,
    key_tuples,
    profile_of_person,
    refresh_persons,
)

if TYPE_CHECKING:
    from concurrent.futures import Future
    from pathlib import Path

    from sqlalchemy.orm import QueryableAttribute, sessionmaker

    from shouhu.core.principal import Principal

T = TypeVar("T")
logger = logging.getLogger(__name__)

AUDIT_ACTION: Final = "registry:import"
# Rows per transaction. Each chunk's blocking keys land on random pages of large indexes, and on
# SQLite a page is written (to the WAL, then back) once per transaction that dirties it: 5,000
# rows cost the writer a quarter less per row than 1,000 at 10⁵ persons, and more beyond.
DEFAULT_CHUNK_ROWS: Final = 5000
# Rows validated (and the persons they complete prepared) together: in a worker, one task.
BATCH_ROWS: Final = 500
# Worker processes are worth their start (a second or so each, importing the libraries) from
# this many rows on; below it an import prepares its rows itself whatever `workers` says.
PARALLEL_MIN_ROWS: Final = 10_000
MIN_WORKERS: Final = 2
# SQLite's page cache for an import's connection (the default is 2 MiB); see `_tune_sqlite`.
SQLITE_CACHE_KIB: Final = 262_144
# Batches sent ahead per worker: enough to keep it busy while this process writes.
IN_FLIGHT_PER_WORKER: Final = 2
DECISION_NUMBER_LENGTH: Final = 100
MAX_MERGE_CHAIN: Final = 100  # persons merged into persons merged into …: a bound, never met
REPORT_SUFFIX: Final = ".rejections.csv"
REPORT_COLUMNS: Final = ("row", "field", "reason", "message")
# The row-level "field" of a problem that belongs to no single column.
ROW: Final = "row"

# DESIGN.md §6, in the contract's order.
COLUMNS: Final = (
    "external_id",
    "name",
    "former_names",
    "sex",
    "date_of_birth",
    "nationality",
    "id_type",
    "id_number",
    "record_kind",
    "offence",
    "decision_authority",
    "decision_number",
    "decision_date",
)
# A blank nationality means CHN and a file may leave out former names: both columns may be absent.
OPTIONAL_COLUMNS: Final = frozenset({"former_names", "nationality"})
REQUIRED_COLUMNS: Final = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
# Sex and birth date may be blank: a PRC number carries both, and a foreign person's record may
# lack them; when given they must be valid and agree with the number.
REQUIRED_VALUES: Final = tuple(c for c in REQUIRED_COLUMNS if c not in {"sex", "date_of_birth"})
_FORMER_NAME_SEPARATOR: Final = ";"  # NFKC folds the full-width ； into it


class ImportInterruptedError(ConflictError):
    """Another import changed the same persons meanwhile; the chunks written so far are kept.

    Like `TableFileError`, its message is operator-facing English (the CLI); it is not in the
    translation catalogue yet.
    """

    code = "import_interrupted"


Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RecordInput:
    """A record as a row gives it, validated."""

    kind: RecordKind
    offence: str
    authority: str
    number: str
    decision_date: date
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A row that passed validation, in canonical form."""

    row: int
    external_id: str
    name: str
    normalised_name: NormalisedName
    former_names: tuple[str, ...]
    sex: str | None  # given, or read from the identity number
    date_of_birth: date | None  # given, or read from the identity number
    nationality_given: str | None
    document: Document
    document_index: str
    record: RecordInput


@dataclass
class PersonInput:
    """The rows of one person merged: what the file says about that person."""

    external_id: str
    name: str
    former_names: dict[str, None]  # ordered set
    sex: str | None
    date_of_birth: date | None
    nationality_given: str | None
    nationality: str
    documents: dict[tuple[str, str], tuple[Document, str]]  # (id_type, index) → doc, index
    records: dict[str, RecordInput]  # fingerprint → record
    rows: list[int]


@dataclass
class ImportCounts:
    """What an import (or one chunk of it) did."""

    rows: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    names_added: int = 0
    documents_added: int = 0
    records_added: int = 0
    records_updated: int = 0

    def add(self, other: ImportCounts) -> None:
        """Add another chunk's counts to these."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def as_details(self) -> dict[str, int]:
        """The counts as audit details (numbers only, no personal data)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class ImportResult:
    """The outcome of an import."""

    import_id: uuid.UUID
    file_sha256: str
    rows_total: int
    rows_rejected: int
    chunks: int
    report_path: Path
    counts: ImportCounts = field(default_factory=ImportCounts)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every row was imported."""
        return self.rows_rejected == 0


def report_path_for(path: Path) -> Path:
    """Where the rejection report of `path` goes: `<stem>.rejections.csv` beside it."""
    return path.with_name(path.stem + REPORT_SUFFIX)


# --- reading the file -------------------------------------------------------------------------


@dataclass
class _Scan:
    """What the first pass learnt."""

    header: list[str]
    header_row: int
    rows_total: int
    last_row: dict[str, int]
    external_id_column: int


def _clean_external_id(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _scan(path: Path) -> _Scan:
    """First pass: header, row count and each person's last row; nothing is validated yet."""
    with rows_of(path) as rows:
        header: list[str] | None = None
        header_row = 0
        total = 0
        last_row: dict[str, int] = {}
        position = 0
        for number, cells in rows:
            if header is None:
                if is_blank(cells):
                    continue
                header, header_row = check_header(path, cells, COLUMNS, REQUIRED_COLUMNS), number
                position = header.index("external_id")
                continue
            if is_blank(cells):
                continue
            total += 1
            if position < len(cells):
                external_id = _clean_external_id(cells[position])
                if external_id:
                    last_row[external_id] = number
    if header is None:
        raise file_error(path, "the file is empty; the first row must be the header.")
    return _Scan(
        header=header,
        header_row=header_row,
        rows_total=total,
        last_row=last_row,
        external_id_column=position,
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes (audit details name the file by it, not by its name)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- validating a row -------------------------------------------------------------------------


def _check_names(check: RowCheck) -> tuple[str, NormalisedName, tuple[str, ...]] | None:
    name = check.text("name")
    normalised = None
    if name is not None:
        try:
            normalised = normalise_name(name)
        except IdentityError as exc:
            check.identity_error(exc, "name")
    former: dict[str, None] = {}
    listed = check.text("former_names")
    for part in unicodedata.normalize("NFKC", listed or "").split(_FORMER_NAME_SEPARATOR):
        text = " ".join(part.split())
        if not text:
            continue
        try:
            normalise_name(text)
        except IdentityError as exc:
            check.identity_error(exc, "former_names")
            continue
        former[text] = None
    if name is None or normalised is None:
        return None
    name = " ".join(name.split())
    return name, normalised, tuple(text for text in former if text != name)


def _check_record(
    check: RowCheck, today: date, born: date | None
) -> tuple[RecordKind, str, str, str, date] | None:
    kind: RecordKind | None = None
    kind_text = check.text("record_kind")
    if kind_text is not None:
        try:
            kind = RecordKind(kind_text.lower())
        except ValueError:
            check.reject(
                "record_kind",
                "unknown_record_kind",
                "one of " + ", ".join(member.value for member in RecordKind),
            )
    offence_code: str | None = None
    offence_text = check.text("offence")
    if offence_text is not None:
        offence = catalogue().get(offence_text.lower())
        if offence is None:
            check.reject("offence", "unknown_offence", "not a code of the offence catalogue")
        elif kind is not None and kind not in offence.record_kinds:
            check.reject(
                "offence",
                "offence_kind_mismatch",
                f"this offence is recorded as {', '.join(sorted(offence.record_kinds))}",
            )
        else:
            offence_code = offence.code
    authority = check.text("decision_authority", max_length=AUTHORITY_LENGTH)
    number = check.text("decision_number", max_length=DECISION_NUMBER_LENGTH)
    decided = check.date("decision_date", today)
    if decided is not None and born is not None and decided < born:
        check.reject("decision_date", "before_birth", "the decision predates the birth date")
        decided = None
    if kind is None or offence_code is None or authority is None or number is None:
        return None
    if decided is None:
        return None
    return kind, offence_code, " ".join(authority.split()), number, decided


def validate_row(row: int, values: dict[str, str], *, today: date) -> ValidRow | list[Rejection]:
    """Check every field of one row; the canonical row, or every problem found."""
    check = RowCheck(row, values, required=REQUIRED_VALUES)
    external_id = check.text("external_id", max_length=EXTERNAL_ID_LENGTH)
    if external_id is not None:
        external_id = _clean_external_id(external_id)
    names = _check_names(check)
    sex, born, nationality, document = check_identity(check, today)
    record = _check_record(check, today, born or (document.birth_date if document else None))
    if check.problems:
        return check.problems
    # Every part is present when nothing was rejected.
    assert external_id is not None  # noqa: S101 - narrowed for the type checker
    assert names is not None  # noqa: S101
    assert document is not None  # noqa: S101
    assert record is not None  # noqa: S101
    name, normalised, former = names
    kind, offence, authority, number, decided = record
    return ValidRow(
        row=row,
        external_id=external_id,
        name=name,
        normalised_name=normalised,
        former_names=former,
        sex=sex or document.sex,
        date_of_birth=born or document.birth_date,
        nationality_given=nationality,
        document=document,
        document_index=document_number_index(document.number),
        record=RecordInput(
            kind=kind,
            offence=offence,
            authority=authority,
            number=number,
            decision_date=decided,
            fingerprint=record_fingerprint(kind.value, offence, number),
        ),
    )


# --- merging the rows of a person ---------------------------------------------------------------


def _conflict(row: int, column: str, other_row: int) -> Rejection:
    return Rejection(
        row,
        column,
        "conflicting_value",
        f"differs from row {other_row}, which has the same external_id",
    )


@dataclass
class _Merge:
    """A person being merged from its rows, and which row gave each value."""

    person: PersonInput
    first_row: int
    first_display: str
    source: dict[str, int] = field(default_factory=dict)
    record_rows: dict[str, int] = field(default_factory=dict)

    def conflicts(self, row: ValidRow) -> list[Rejection]:
        """What in this row contradicts the rows merged before it."""
        person = self.person
        problems: list[Rejection] = []
        if row.normalised_name.display != self.first_display:
            problems.append(_conflict(row.row, "name", self.first_row))
        for column, mine, theirs in (
            ("sex", row.sex, person.sex),
            ("date_of_birth", row.date_of_birth, person.date_of_birth),
            ("nationality", row.nationality_given, person.nationality_given),
        ):
            if mine is not None and theirs is not None and mine != theirs:
                problems.append(_conflict(row.row, column, self.source[column]))
        known = person.records.get(row.record.fingerprint)
        if known is not None:
            earlier = self.record_rows[known.fingerprint]
            if known.authority != row.record.authority:
                problems.append(_conflict(row.row, "decision_authority", earlier))
            if known.decision_date != row.record.decision_date:
                problems.append(_conflict(row.row, "decision_date", earlier))
        return problems

    def absorb(self, row: ValidRow) -> None:
        """Add what the row says: blanks filled, names, documents and records added."""
        person = self.person
        if person.sex is None and row.sex is not None:
            person.sex, self.source["sex"] = row.sex, row.row
        if person.date_of_birth is None and row.date_of_birth is not None:
            person.date_of_birth, self.source["date_of_birth"] = row.date_of_birth, row.row
        if person.nationality_given is None and row.nationality_given is not None:
            person.nationality_given, self.source["nationality"] = row.nationality_given, row.row
        person.former_names.update(dict.fromkeys(n for n in row.former_names if n != person.name))
        document = (row.document.id_type.value, row.document_index)
        person.documents.setdefault(document, (row.document, row.document_index))
        if row.record.fingerprint not in person.records:
            person.records[row.record.fingerprint] = row.record
            self.record_rows[row.record.fingerprint] = row.row
        person.rows.append(row.row)


def merge_person(rows: list[ValidRow]) -> tuple[PersonInput, list[Rejection]]:
    """One person from the valid rows sharing an external_id, and the rows it rejects.

    A row that contradicts the rows before it (another name, sex, birth date or nationality, or
    the same decision with another authority or date) is rejected whole; blanks never conflict.
    """
    first = rows[0]
    merge = _Merge(
        person=PersonInput(
            external_id=first.external_id,
            name=first.name,
            former_names={},
            sex=None,
            date_of_birth=None,
            nationality_given=None,
            nationality=CHINA,
            documents={},
            records={},
            rows=[],
        ),
        first_row=first.row,
        first_display=first.normalised_name.display,
    )
    rejections: list[Rejection] = []
    for row in rows:
        problems = merge.conflicts(row)
        if problems:
            rejections.extend(problems)
        else:
            merge.absorb(row)
    person = merge.person
    documents = [document for document, _ in person.documents.values()]
    person.nationality = (
        person.nationality_given
        or next((d.nationality for d in documents if d.nationality), None)
        or CHINA
    )
    return person, rejections


# --- rows as the driver takes them --------------------------------------------------------------

# The columns each bulk row fills, in its tuple's order; parents before children (foreign keys).
_PERSON_COLUMNS: Final = (
    "id",
    "external_id",
    "name",
    "sex",
    "date_of_birth",
    "nationality",
    "import_digest",
    "match_profile",
    "keys_version",
    "created_at",
    "updated_at",
    "merged_into_id",
)
_NAME_COLUMNS: Final = ("id", "person_id", "kind", "name", "created_at")
_DOCUMENT_COLUMNS: Final = (
    "id",
    "person_id",
    "id_type",
    "number",
    "number_index",
    "nationality",
    "created_at",
)
_RECORD_COLUMNS: Final = (
    "id",
    "person_id",
    "kind",
    "offence",
    "decision_authority",
    "decision_number",
    "decision_date",
    "status",
    "fingerprint",
    "created_at",
    "updated_at",
    # The lifecycle's columns: an imported record is version 1, active, with no submitter.
    "offence_date",
    "sentence_months",
    "source",
    "version",
    "supersedes_id",
    "subject",
    "submitted_by_id",
    "submitting_organisation_id",
    "review_organisation_id",
    "submitted_at",
    "approved_by_id",
    "approved_at",
)
_IMPORTED_RECORD_TAIL: Final = (
    None,
    None,
    RecordSource.IMPORT.value,
    1,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
)
_KEY_COLUMNS: Final = ("key", "person_id", "kind")
_PRIMARY: Final = NameKind.PRIMARY.value
_FORMER: Final = NameKind.FORMER.value
_ACTIVE: Final = RecordStatus.ACTIVE.value


@dataclass(frozen=True, slots=True)
class _Native:
    """The values the database driver is given where SQLAlchemy's column types would bind them.

    Bulk rows skip SQLAlchemy's per-value processing (a third of an import's time when they did
    not), so they are built in the form that processing produces: on SQLite a `Uuid` is its 32
    hex digits, a `UTCDateTime` the naive UTC time as `YYYY-MM-DD HH:MM:SS.ffffff` and a `Date`
    `YYYY-MM-DD` (SQLAlchemy's SQLite storage formats); psycopg takes `uuid.UUID`, naive UTC
    `datetime` and `date` as they are. tests/registry/test_import_parallel.py holds them to
    SQLAlchemy's own processing.
    """

    sqlite: bool

    def new_id(self) -> tuple[str, object]:
        """A fresh UUID4: as text (what associated data binds) and as the driver takes it."""
        value = uuid.uuid4()
        return str(value), self.id(value)

    def id(self, value: uuid.UUID) -> object:
        """A `Uuid` column's value."""
        return value.hex if self.sqlite else value

    def timestamp(self, moment: datetime) -> object:
        """A `UTCDateTime` column's value (naive UTC)."""
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        if not self.sqlite:
            return naive
        return (
            f"{naive.year:04d}-{naive.month:02d}-{naive.day:02d} "
            f"{naive.hour:02d}:{naive.minute:02d}:{naive.second:02d}.{naive.microsecond:06d}"
        )

    def day(self, value: date) -> object:
        """A `Date` column's value."""
        if not self.sqlite:
            return value
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


Row = tuple[object, ...]


@dataclass
class _Rows:
    """New rows of the registry tables in the driver's values, in `_*_COLUMNS` order."""

    persons: list[Row] = field(default_factory=list)
    names: list[Row] = field(default_factory=list)
    documents: list[Row] = field(default_factory=list)
    records: list[Row] = field(default_factory=list)
    keys: list[Row] = field(default_factory=list)

    def extend(self, other: _Rows) -> None:
        """Add another's rows to these."""
        self.persons.extend(other.persons)
        self.names.extend(other.names)
        self.documents.extend(other.documents)
        self.records.extend(other.records)
        self.keys.extend(other.keys)

    def tables(self) -> list[tuple[str, tuple[str, ...], list[Row]]]:
        """(table, columns, rows) of each table, parents before children."""
        return [
            (RegistryPerson.__tablename__, _PERSON_COLUMNS, self.persons),
            (RegistryName.__tablename__, _NAME_COLUMNS, self.names),
            (RegistryDocument.__tablename__, _DOCUMENT_COLUMNS, self.documents),
            (RegistryRecord.__tablename__, _RECORD_COLUMNS, self.records),
            (RegistryBlockingKey.__tablename__, _KEY_COLUMNS, self.keys),
        ]


def _sealed(sealer: FieldSealer, target: EncryptedField[T], row_id: str, value: T) -> bytes:
    """The envelope `target` would store for `value` in the row `row_id` (`sealed_for_row`)."""
    return sealer.seal(target.encode(value), target.aad_for_row(row_id))


def _creation_rows(person: PersonInput, digest: str, native: _Native, sealer: FieldSealer) -> _Rows:
    """The rows that register a new person: sealed values, match profile and blocking keys."""
    person_text, person_id = native.new_id()
    now = native.timestamp(utcnow())
    names = [(_PRIMARY, person.name)] + [(_FORMER, former) for former in person.former_names]
    profile = build_profile(
        names=names,
        documents=[
            ProfileDocument(d.id_type.value, d.lifelong_number, d.nationality)
            for d, _ in person.documents.values()
        ],
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        nationality=person.nationality,
    )
    born = person.date_of_birth
    rows = _Rows()
    rows.persons.append(
        (
            person_id,
            person.external_id,
            _sealed(sealer, RegistryPerson.name, person_text, person.name),
            person.sex,
            None
            if born is None
            else _sealed(sealer, RegistryPerson.date_of_birth, person_text, born),
            person.nationality,
            digest,
            _sealed(sealer, RegistryPerson.match_profile, person_text, profile),
            KEYS_VERSION,
            now,
            now,
            None,  # merged_into_id: a new person is nobody's duplicate yet
        )
    )
    for kind, text in names:
        name_text, name_id = native.new_id()
        rows.names.append(
            (name_id, person_id, kind, _sealed(sealer, RegistryName.name, name_text, text), now)
        )
    for document, index in person.documents.values():
        document_text, document_id = native.new_id()
        rows.documents.append(
            (
                document_id,
                person_id,
                document.id_type.value,
                _sealed(sealer, RegistryDocument.number, document_text, document.number),
                index,
                document.nationality,
                now,
            )
        )
    for item in person.records.values():
        record_text, record_id = native.new_id()
        rows.records.append(
            (
                record_id,
                person_id,
                item.kind.value,
                item.offence,
                item.authority,
                _sealed(sealer, RegistryRecord.decision_number, record_text, item.number),
                native.day(item.decision_date),
                _ACTIVE,
                item.fingerprint,
                now,
                now,
                *_IMPORTED_RECORD_TAIL,
            )
        )
    rows.keys.extend(key_tuples(person_id, stored_keys(profile)))
    return rows


def _among(column: QueryableAttribute[str], values: Collection[str], session: Session) -> Any:
    """`column IN values`, on PostgreSQL as `= ANY` of one array parameter.

    Thousands of separate parameters cost psycopg and SQLAlchemy far more than the query.
    """
    if session.get_bind().dialect.name == "sqlite":
        return column.in_(values)
    return column == any_(literal(list(values), ARRAY(String())))


def _tune_sqlite(session: Session) -> None:
    """Give the chunk's SQLite connection the page cache a bulk import needs."""
    # Every chunk inserts blocking keys into random pages of indexes that reach gigabytes at 10⁶
    # persons: with SQLite's default 2 MiB cache, a page is read, dirtied, spilled to the WAL
    # and read again within one transaction. Durability is untouched (a cache setting only).
    session.connection().exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def _insert(session: Session, rows: _Rows) -> None:
    """Insert the rows through the session's driver connection, in its transaction."""
    connection = session.connection()
    dialect = connection.dialect
    driver: Any = connection.connection.driver_connection
    quote = dialect.identifier_preparer.quote
    statement = ""
    try:
        for table, columns, values in rows.tables():
            if not values:
                continue
            names = ", ".join(quote(column) for column in columns)
            if dialect.name == "sqlite":
                marks = ", ".join("?" * len(columns))
                # Names are this module's constants, quoted; the values go as parameters.
                statement = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608
                cursor = driver.cursor()
                try:
                    cursor.executemany(statement, values)
                finally:
                    cursor.close()
            else:
                # PostgreSQL (psycopg 3): COPY is several times faster than batched INSERTs.
                statement = f"COPY {quote(table)} ({names}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    for value in values:
                        copy.write_row(value)
    except dialect.loaded_dbapi.IntegrityError as exc:
        # As SQLAlchemy would have raised it: the writer turns it into ImportInterruptedError.
        raise IntegrityError(statement, None, exc) from exc


# --- writing ------------------------------------------------------------------------------------


def person_digest(person: PersonInput) -> str:
    """A blind index of everything the file says about a person, in a canonical order."""
    canonical = json.dumps(
        [
            person.external_id,
            person.name,
            sorted(person.former_names),
            person.sex,
            person.date_of_birth.isoformat() if person.date_of_birth else None,
            person.nationality_given,
            sorted([t, index, d.nationality] for (t, index), (d, _) in person.documents.items()),
            sorted(
                [r.fingerprint, r.authority, r.decision_date.isoformat()]
                for r in person.records.values()
            ),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return blind_index(canonical, domain=IMPORT_DIGEST_DOMAIN)


# --- preparing batches of rows (in this process or in workers) ----------------------------------


def check_cells(
    number: int, cells: list[str], header: Sequence[str], *, today: date
) -> ValidRow | list[Rejection]:
    """`validate_row` of a row's cells as the file gives them; cells past the header reject it."""
    outcome = validate_row(number, dict(zip(header, cells, strict=False)), today=today)
    if len(cells) > len(header) and not is_blank(cells[len(header) :]):
        extra = Rejection(number, ROW, "extra_cells", "values beyond the last column")
        outcome = [extra, *outcome] if isinstance(outcome, list) else [extra]
    return outcome


@dataclass(frozen=True, slots=True)
class _Batch:
    """Data rows in file order, with what preparing them needs to know (pickled to a worker)."""

    header: tuple[str, ...]
    today: date
    sqlite: bool
    rows: list[tuple[int, list[str]]]
    # The persons whose last row is in this batch (by external_id): their rows in earlier
    # batches, and the import digests of those already registered.
    earlier: dict[str, list[tuple[int, list[str]]]]
    known: dict[str, str | None]


# What crosses to and from the workers is tuples, lists and dataclasses without slots: unpickling
# a slotted dataclass runs Python code per object, which this process would pay for every person.

# A valid row as the chunks need it: external_id, id_type, document index, whether `other`.
_Valid = tuple[str, str, str, bool]


@dataclass
class _Plan:
    """A person prepared with the batch of their last row; used if the chunk merges these rows."""

    rows: tuple[int, ...]  # the valid rows merged, in file order
    merged: int  # the rows merged without conflict (`ImportCounts.rows`)
    conflicts: list[Rejection]
    digest: str
    new: _Rows | None  # the rows that register the person, if unknown when prepared
    person: PersonInput | None  # what the file says, if registered under another digest


@dataclass
class _Prepared:
    """A batch prepared: each row's outcome, in order, and the plans of the persons it ends."""

    outcomes: list[_Valid | list[Rejection]]
    plans: dict[str, _Plan]


def _prepare(batch: _Batch) -> _Prepared:
    """Validate a batch and prepare the persons it completes: the CPU work of an import."""
    native = _Native(sqlite=batch.sqlite)
    sealer = FieldSealer()
    outcomes: list[_Valid | list[Rejection]] = []
    complete: dict[str, list[ValidRow]] = defaultdict(list)
    for number, cells in (row for rows in batch.earlier.values() for row in rows):
        # Validated in their own batch as well: this costs less than preparing the person in
        # the main process, which these rows would otherwise need.
        earlier = check_cells(number, cells, batch.header, today=batch.today)
        if not isinstance(earlier, list) and earlier.external_id in batch.earlier:
            complete[earlier.external_id].append(earlier)
    for number, cells in batch.rows:
        outcome = check_cells(number, cells, batch.header, today=batch.today)
        if isinstance(outcome, list):
            outcomes.append(outcome)
            continue
        document = outcome.document
        outcomes.append(
            (
                outcome.external_id,
                document.id_type.value,
                outcome.document_index,
                document.id_type is IdType.OTHER,
            )
        )
        if outcome.external_id in batch.earlier:
            complete[outcome.external_id].append(outcome)
    plans = {
        external_id: _plan(sorted(rows, key=lambda row: row.row), batch.known, native, sealer)
        for external_id, rows in complete.items()
    }
    return _Prepared(outcomes=outcomes, plans=plans)


def _plan(
    rows: list[ValidRow], known: dict[str, str | None], native: _Native, sealer: FieldSealer
) -> _Plan:
    person, conflicts = merge_person(rows)
    digest = person_digest(person)
    registered = person.external_id in known
    return _Plan(
        rows=tuple(row.row for row in rows),
        merged=len(person.rows),
        conflicts=conflicts,
        digest=digest,
        new=None if registered else _creation_rows(person, digest, native, sealer),
        person=person if registered and known[person.external_id] != digest else None,
    )


def _start_worker(field_key_id: str, field_key: bytes, blind_index_key: bytes) -> None:
    """Install the keys preparing rows needs, and only those: no old key, no signing key."""
    # Ctrl-C reaches the whole process group: the main process stops the pool itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    install_keyring(
        Keyring(
            field_keys={field_key_id: field_key},
            active_field_key_id=field_key_id,
            blind_index_key=blind_index_key,
            # A worker signs nothing; a throwaway key fills the place of the one it is not given.
            signing_key_id="",
            signing_key=Ed25519PrivateKey.generate(),
        )
    )


@contextmanager
def _preparing(workers: int) -> Iterator[Callable[[Iterable[_Batch]], Iterator[_Prepared]]]:
    """Prepare batches in order: here, or in `workers` spawned processes, a few ahead."""
    if workers < MIN_WORKERS:
        yield lambda batches: (_prepare(batch) for batch in batches)
        return
    keyring = current_keyring()
    kid = keyring.active_field_key_id
    # Spawned, not forked: a child inherits no open database connection, lock or thread. An
    # executor rather than a multiprocessing.Pool: a worker that dies (killed for memory, say)
    # fails the import with BrokenProcessPool instead of leaving it waiting for ever.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(kid, keyring.field_key(kid), keyring.blind_index_key),
    )

    def in_order(batches: Iterable[_Batch]) -> Iterator[_Prepared]:
        pending: deque[Future[_Prepared]] = deque()
        for batch in batches:
            pending.append(pool.submit(_prepare, batch))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    try:
        yield in_order
    finally:
        # On an error, batches not started are dropped; the running ones end (within a second).
        pool.shutdown(cancel_futures=True)


# --- writing chunks -----------------------------------------------------------------------------


@dataclass(slots=True)
class _RowRef:
    """A valid row of a chunk: what owning documents needs, and its cells to validate again."""

    row: int
    external_id: str
    document: tuple[str, str]  # (id_type, number index)
    other: bool  # id_type `other`: a free-text number that may be shared
    cells: list[str]


@dataclass(slots=True)
class _ChunkPerson:
    """The valid rows of a person (from the chunk's point of view) and its plan, if any."""

    rows: list[_RowRef]
    plan: _Plan | None


@dataclass
class _Chunk:
    """Whole persons waiting to be written together."""

    persons: list[_ChunkPerson] = field(default_factory=list)
    rows: int = 0


@dataclass(slots=True)
class _Merged:
    """A person of a chunk merged: from its plan, or prepared again here."""

    external_id: str
    rows: list[_RowRef]
    merged: int
    digest: str
    new: _Rows | None
    person: PersonInput | None
    # The external_id the file gave, when that person was merged into this one by a reviewer.
    merged_from: str | None = None


class _Writer:
    """Writes chunks of persons, each in its own transaction with its audit event."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        actor: Principal,
        import_id: uuid.UUID,
        digest: str,
        header: Sequence[str],
        today: date,
        native: _Native,
    ) -> None:
        self.factory = factory
        self.actor = actor
        self.import_id = import_id
        self.digest = digest
        self.header = tuple(header)
        self.today = today
        self.native = native
        self.chunks = 0
        self.counts = ImportCounts()
        self.rejections: list[Rejection] = []

    def write(self, chunk: _Chunk, *, rows_rejected_before: int = 0) -> None:
        """Write one chunk: check document owners, merge, insert or update, audit; commit.

        `rows_rejected_before` counts the rows that failed validation since the last chunk,
        so that the chunks' audit events add up to the whole import.
        """
        counts = ImportCounts()
        rejections: list[Rejection] = []
        try:
            self._write(chunk, counts, rejections, rows_rejected_before)
        except IntegrityError as exc:
            # Another import registered the same person or record between our look-up and
            # our insert; this chunk was rolled back, the earlier ones are kept.
            raise ImportInterruptedError(
                "Another import changed the same persons at the same time; run this import "
                "again (it is idempotent and resumes where it stopped)."
            ) from exc
        self.counts.add(counts)
        self.rejections.extend(rejections)

    def known_digests(self, external_ids: list[str]) -> dict[str, str | None]:
        """The import digests of those of these persons already registered (for preparing)."""
        if not external_ids:
            return {}
        with self.factory() as session:
            return {e: digest for e, (_, digest) in self._known(session, external_ids).items()}

    def _write(
        self,
        chunk: _Chunk,
        counts: ImportCounts,
        rejections: list[Rejection],
        rows_rejected_before: int,
    ) -> None:
        with transaction(self.factory) as session:
            if self.native.sqlite:
                _tune_sqlite(session)
            persons = self._merge(session, chunk, rejections)
            counts.rows = sum(p.merged for p in persons)
            known = self._known(session, [p.external_id for p in persons])
            changed = [
                p.external_id
                for p in persons
                if p.external_id in known and known[p.external_id][1] != p.digest
            ]
            existing = self._existing(session, [known[e][0] for e in changed])
            rows = _Rows()
            rebuild: dict[uuid.UUID, set[BlockingKey]] = {}
            sealer: FieldSealer | None = None
            for person in persons:
                if person.external_id not in known:
                    new = person.new
                    if new is None:  # registered when prepared, and not any more
                        sealer = sealer or FieldSealer()
                        new = _creation_rows(
                            self._input(person), person.digest, self.native, sealer
                        )
                    rows.extend(new)
                    counts.persons_created += 1
                    counts.names_added += len(new.names)
                    counts.documents_added += len(new.documents)
                    counts.records_added += len(new.records)
                elif person.external_id in existing:
                    stored = existing[person.external_id]
                    given = self._input(person)
                    if person.merged_from is not None:
                        # The rows describe the merged registration: their name is one the
                        # kept person was known by, and their digest is not the kept one's.
                        self._update(session, stored, _as_former(given, stored), rebuild, counts)
                    else:
                        self._update(session, stored, given, rebuild, counts)
                        stored.import_digest = person.digest
                else:
                    # This very input was merged into the person before: merging it again
                    # would change nothing, so nothing is read, decrypted or compared.
                    counts.persons_unchanged += 1
            if rebuild:
                session.execute(
                    delete(RegistryBlockingKey).where(
                        RegistryBlockingKey.person_id.in_(list(rebuild))
                    )
                )
                for person_id, keys in rebuild.items():
                    rows.keys.extend(key_tuples(self.native.id(person_id), keys))
            session.flush()
            _insert(session, rows)
            self.chunks += 1
            audit_record(
                session,
                actor=self.actor,
                action=AUDIT_ACTION,
                object_type="registry_import",
                object_id=self.import_id,
                details={
                    "chunk": self.chunks,
                    "file_sha256": self.digest,
                    "rows_rejected": rows_rejected_before + len({r.row for r in rejections}),
                    **counts.as_details(),
                },
            )

    def _valid_rows(self, rows: list[_RowRef]) -> list[ValidRow]:
        """The rows validated again (the same outcome as in the batch: validation is pure)."""
        valid: list[ValidRow] = []
        for ref in rows:
            outcome = check_cells(ref.row, ref.cells, self.header, today=self.today)
            if isinstance(outcome, list):  # pragma: no cover - validation is deterministic
                raise TypeError(f"row {ref.row} passed validation once and not again")
            valid.append(outcome)
        return valid

    def _input(self, person: _Merged) -> PersonInput:
        """What the file says about the person (merged again if the plan did not keep it)."""
        if person.person is None:
            person.person, _ = merge_person(self._valid_rows(person.rows))
        return person.person

    def _merge(self, session: Session, chunk: _Chunk, rejections: list[Rejection]) -> list[_Merged]:
        """Drop rows whose document belongs to another person, then merge each person."""
        indexes = {
            row.document[1] for person in chunk.persons for row in person.rows if not row.other
        }
        owners: dict[tuple[str, str], str] = {}
        if indexes:
            owned = session.execute(
                select(
                    RegistryDocument.id_type,
                    RegistryDocument.number_index,
                    RegistryPerson.external_id,
                )
                .join(RegistryPerson, RegistryDocument.person_id == RegistryPerson.id)
                .where(_among(RegistryDocument.number_index, indexes, session))
            )
            owners = {(t, i): e for t, i, e in owned}
        kept_for = _kept_for(session, {row.external_id for p in chunk.persons for row in p.rows})
        merged: list[_Merged] = []
        for person in chunk.persons:
            kept: list[_RowRef] = []
            for row in person.rows:
                # A person a reviewer merged into another is that other person now.
                target = kept_for.get(row.external_id, row.external_id)
                owner = owners.setdefault(row.document, target)
                # One document, one person: the same passport or PRC number under two
                # external_ids is a duplicate for a person to resolve (merge under one id).
                if owner != target and not row.other:
                    rejections.append(
                        Rejection(
                            row.row,
                            "id_number",
                            "document_of_another_person",
                            f"this document belongs to registry person {owner}",
                        )
                    )
                    continue
                kept.append(row)
            if kept:
                one = self._merged(kept, person.plan, rejections)
                if one.external_id in kept_for:
                    one.merged_from, one.external_id = one.external_id, kept_for[one.external_id]
                    one.new = None  # never registered anew: the kept person is updated
                merged.append(one)
        return merged

    def _merged(
        self, rows: list[_RowRef], plan: _Plan | None, rejections: list[Rejection]
    ) -> _Merged:
        """The person from its plan if the plan merged exactly these rows, else merged here."""
        external_id = rows[0].external_id
        if plan is not None and plan.rows == tuple(row.row for row in rows):
            rejections.extend(plan.conflicts)
            return _Merged(external_id, rows, plan.merged, plan.digest, plan.new, plan.person)
        person, conflicts = merge_person(self._valid_rows(rows))
        rejections.extend(conflicts)
        return _Merged(external_id, rows, len(person.rows), person_digest(person), None, person)

    @staticmethod
    def _known(
        session: Session, external_ids: list[str]
    ) -> dict[str, tuple[uuid.UUID, str | None]]:
        """Id and import digest of the persons already registered, in one IN query."""
        if not external_ids:
            return {}
        found = session.execute(
            select(
                RegistryPerson.external_id, RegistryPerson.id, RegistryPerson.import_digest
            ).where(_among(RegistryPerson.external_id, external_ids, session))
        )
        return {external_id: (person_id, digest) for external_id, person_id, digest in found}

    @staticmethod
    def _existing(session: Session, person_ids: list[uuid.UUID]) -> dict[str, RegistryPerson]:
        """The persons to update, with their names, documents and records (four queries)."""
        if not person_ids:
            return {}
        found = session.scalars(
            select(RegistryPerson)
            .where(RegistryPerson.id.in_(person_ids))
            .options(
                selectinload(RegistryPerson.names),
                selectinload(RegistryPerson.documents),
                selectinload(RegistryPerson.records),
            )
        )
        return {person.external_id: person for person in found}

    @staticmethod
    def _update(
        session: Session,
        stored: RegistryPerson,
        person: PersonInput,
        rebuild: dict[uuid.UUID, set[BlockingKey]],
        counts: ImportCounts,
    ) -> None:
        """Bring a known person up to date; nothing is re-sealed unless its value changed."""
        now = utcnow()
        names_changed = _update_names(session, stored, person, counts)
        scalars_changed, nationality_changed = _update_scalars(stored, person)
        documents_added, nationality_changed_too = _update_documents(
            session, stored, person, counts
        )
        records_changed = _update_records(session, stored, person, counts, now)
        if names_changed or scalars_changed or nationality_changed or documents_added:
            # The profile and blocking keys follow the names, numbers, birth date, sex and
            # nationality (not the records).
            profile = profile_of_person(stored)
            stored.match_profile = profile
            stored.keys_version = KEYS_VERSION
            rebuild[stored.id] = stored_keys(profile)
        if any(
            (
                names_changed,
                scalars_changed,
                nationality_changed,
                documents_added,
                nationality_changed_too,
                records_changed,
            )
        ):
            stored.updated_at = now
            counts.persons_updated += 1
        else:
            counts.persons_unchanged += 1


def _kept_for(session: Session, external_ids: set[str]) -> dict[str, str]:
    """For each of these persons that a reviewer merged into another, the kept one's id."""
    if not external_ids:
        return {}
    rows = session.execute(
        select(RegistryPerson.external_id, RegistryPerson.merged_into_id).where(
            _among(RegistryPerson.external_id, external_ids, session),
            RegistryPerson.merged_into_id.is_not(None),
        )
    )
    merged = {row[0]: row[1] for row in rows}
    kept: dict[str, str] = {}
    for external_id, first in merged.items():
        into = first
        # A kept person may have been merged in turn: follow the chain to its end.
        for _ in range(MAX_MERGE_CHAIN):
            target = session.execute(
                select(RegistryPerson.external_id, RegistryPerson.merged_into_id).where(
                    RegistryPerson.id == into
                )
            ).one()
            if target.merged_into_id is None:
                kept[external_id] = target.external_id
                break
            into = target.merged_into_id
    return kept


def _as_former(given: PersonInput, stored: RegistryPerson) -> PersonInput:
    """What a merged registration says, with its name as a former name of the kept person."""
    primary = stored.name or given.name
    former = dict.fromkeys(n for n in (given.name, *given.former_names) if n != primary)
    return replace(given, name=primary, former_names=former)


def _update_scalars(stored: RegistryPerson, person: PersonInput) -> tuple[bool, bool]:
    """Replace a changed sex or birth date, and a changed nationality the file states.

    Returns whether sex or birth date changed (the keys depend on them) and whether the
    nationality did. A blank in the file says nothing, so the stored value stays.
    """
    identity = nationality = False
    if person.sex is not None and person.sex != stored.sex:
        stored.sex = person.sex
        identity = True
    # Decrypted and compared first: an unchanged value is not re-sealed.
    if person.date_of_birth is not None and person.date_of_birth != stored.date_of_birth:
        stored.date_of_birth = person.date_of_birth
        identity = True
    if person.nationality_given is not None and person.nationality_given != stored.nationality:
        stored.nationality = person.nationality_given
        nationality = True
    return identity, nationality


def _update_documents(
    session: Session, stored: RegistryPerson, person: PersonInput, counts: ImportCounts
) -> tuple[bool, bool]:
    """Add the documents the person lacks; whether any was added, whether a nationality changed."""
    added_any = nationality = False
    documents = {(d.id_type, d.number_index): d for d in stored.documents}
    for document, index in person.documents.values():
        known = documents.get((document.id_type.value, index))
        if known is None:
            added = RegistryDocument(
                person_id=stored.id,
                id_type=document.id_type.value,
                number_index=index,
                nationality=document.nationality,
            )
            added.number = document.number
            session.add(added)
            stored.documents.append(added)
            counts.documents_added += 1
            added_any = True
        elif document.nationality and known.nationality != document.nationality:
            known.nationality = document.nationality
            nationality = True
    return added_any, nationality


def _import_may_amend(record: RegistryRecord) -> bool:
    """Whether an import may correct a record's authority or date in place.

    Only a record the import itself created and that is still active: what a reviewer
    approved, sealed or revoked is changed by a correction, reviewed like any submission.
    """
    return record.source == RecordSource.IMPORT.value and record.status == _ACTIVE


def _update_records(
    session: Session,
    stored: RegistryPerson,
    person: PersonInput,
    counts: ImportCounts,
    now: datetime,
) -> bool:
    """Add new records and correct the authority or date of known ones; whether any changed."""
    changed = False
    # Only the current version of a decision: corrected versions are history, and a submission
    # waiting for review is the reviewers' to decide.
    live = {status.value for status in LIVE_STATUSES}
    records = {r.fingerprint: r for r in stored.records if r.status in live}
    every_version = {r.fingerprint for r in stored.records}
    for item in person.records.values():
        known = records.get(item.fingerprint)
        if known is None and item.fingerprint in every_version:
            # A version corrected since, or one under review: a file repeating the old
            # decision never brings it back (a corrected record stays history).
            continue
        if known is not None and not _import_may_amend(known):
            continue  # a reviewed record changes only by a reviewed correction
        if known is None:
            added = RegistryRecord(
                person_id=stored.id,
                kind=item.kind.value,
                offence=item.offence,
                decision_authority=item.authority,
                decision_date=item.decision_date,
                status=RecordStatus.ACTIVE.value,
                fingerprint=item.fingerprint,
            )
            added.decision_number = item.number
            session.add(added)
            stored.records.append(added)
            counts.records_added += 1
            changed = True
        elif (known.decision_authority, known.decision_date) != (
            item.authority,
            item.decision_date,
        ):
            known.decision_authority = item.authority
            known.decision_date = item.decision_date
            known.updated_at = now
            counts.records_updated += 1
            changed = True
    return changed


def _update_names(
    session: Session, stored: RegistryPerson, person: PersonInput, counts: ImportCounts
) -> bool:
    """Replace a changed primary name (the old one stays as former) and add new former names."""
    changed = False
    by_text = {row.name: row for row in stored.names}
    if stored.name != person.name:
        stored.name = person.name
        changed = True
    for row in stored.names:
        if row.kind == NameKind.PRIMARY.value and row.name != person.name:
            # A changed name on the same person (改名): the old one is still how records and
            # documents elsewhere know them (DESIGN §5).
            row.kind = NameKind.FORMER.value
            changed = True
    wanted = [(NameKind.PRIMARY, person.name)] + [
        (NameKind.FORMER, former) for former in person.former_names
    ]
    for kind, text in wanted:
        row_found = by_text.get(text)
        if row_found is None:
            added = RegistryName(person_id=stored.id, kind=kind.value)
            added.name = text
            session.add(added)
            stored.names.append(added)
            by_text[text] = added
            counts.names_added += 1
            changed = True
        elif kind is NameKind.PRIMARY and row_found.kind != NameKind.PRIMARY.value:
            row_found.kind = NameKind.PRIMARY.value
            changed = True
    return changed


def merge_identity(session: Session, stored: RegistryPerson, person: PersonInput) -> None:
    """Bring a stored person's names, sex, birth date, nationality and documents up to date.

    What an approved submission says about its subject (`shouhu.registry.lifecycle`), by the
    import's own rules; records are left to the caller, and the profile and blocking keys are
    rebuilt from the result.
    """
    counts = ImportCounts()
    _update_names(session, stored, person, counts)
    _update_scalars(stored, person)
    _update_documents(session, stored, person, counts)
    stored.updated_at = utcnow()
    refresh_persons(session, [stored])


# --- the import ---------------------------------------------------------------------------------


def _write_report(path: Path, rejections: list[Rejection]) -> None:
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(REPORT_COLUMNS)
            for item in sorted(
                rejections,
                key=lambda r: (r.row, COLUMNS.index(r.field) if r.field in COLUMNS else -1),
            ):
                writer.writerow([item.row, item.field, item.reason, item.message])
        partial.replace(path)
    except OSError as exc:
        with suppress(OSError):
            partial.unlink()
        raise file_error(
            path,
            "the rejection report cannot be written: {problem}.",
            problem=exc.strerror or str(exc),
        ) from exc


def _check_report_writable(path: Path) -> None:
    probe = path.with_name(path.name + ".part")
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise file_error(
            path,
            "the rejection report cannot be written: {problem}.",
            problem=exc.strerror or str(exc),
        ) from exc


@dataclass
class _SecondPass:
    """Takes each row's outcome in file order, gathers whole persons, then chunks of them."""

    scan: _Scan
    writer: _Writer
    chunk_rows: int
    pending: dict[str, list[_RowRef]] = field(default_factory=lambda: defaultdict(list))
    plans: dict[str, _Plan] = field(default_factory=dict)
    chunk: _Chunk = field(default_factory=_Chunk)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    rejected_since_chunk: int = 0
    processed: int = 0

    def take(self, number: int, cells: list[str], outcome: _Valid | list[Rejection]) -> bool:
        """Take one data row's outcome; whether a chunk was written because of it."""
        self.processed += 1
        if isinstance(outcome, list):
            self.rejections.extend(outcome)
            self.rejected_rows.add(number)
            self.rejected_since_chunk += 1
        else:
            external_id, id_type, index, other = outcome
            self.pending[external_id].append(
                _RowRef(number, external_id, (id_type, index), other, cells)
            )
        # A person goes into a chunk once their last row is read: never half a person.
        position = self.scan.external_id_column
        external_id = _clean_external_id(cells[position] if position < len(cells) else "")
        if external_id and self.scan.last_row.get(external_id) == number:
            self._complete(external_id)
        if self.chunk.rows < self.chunk_rows:
            return False
        self._write()
        return True

    def finish(self) -> None:
        """Write what is left (at least one chunk, so that every import is audited)."""
        # Every person's last row has been read, so nothing should be pending; a file changed
        # between the passes could leave some, and they are written rather than lost.
        for external_id in list(self.pending):
            self._complete(external_id)
        if self.chunk.persons or self.rejected_since_chunk or self.writer.chunks == 0:
            self._write()
        self.rejections.extend(self.writer.rejections)
        self.rejected_rows.update(r.row for r in self.writer.rejections)

    def _complete(self, external_id: str) -> None:
        rows = self.pending.pop(external_id, None)
        plan = self.plans.pop(external_id, None)
        if rows:
            self.chunk.persons.append(_ChunkPerson(rows, plan))
            self.chunk.rows += len(rows)

    def _write(self) -> None:
        self.writer.write(self.chunk, rows_rejected_before=self.rejected_since_chunk)
        self.chunk, self.rejected_since_chunk = _Chunk(), 0


def _batches(
    path: Path, scan: _Scan, writer: _Writer, size: int
) -> Iterator[tuple[_Batch, list[tuple[int, list[str]]]]]:
    """The data rows in batches of `size`, each with the earlier rows of the persons it ends."""
    position = scan.external_id_column
    # The rows of persons whose last row is yet to come, until the batch that holds it.
    carried: dict[str, list[tuple[int, list[str]]]] = {}

    def batch(rows: list[tuple[int, list[str]]]) -> _Batch:
        last = rows[-1][0]
        earlier: dict[str, list[tuple[int, list[str]]]] = {}
        for number, cells in rows:
            external_id = _clean_external_id(cells[position]) if position < len(cells) else ""
            last_row = scan.last_row.get(external_id)
            if last_row == number:
                earlier[external_id] = carried.pop(external_id, [])
            elif last_row is not None and last_row > last:
                carried.setdefault(external_id, []).append((number, cells))
        return _Batch(
            header=tuple(scan.header),
            today=writer.today,
            sqlite=writer.native.sqlite,
            rows=rows,
            earlier=earlier,
            known=writer.known_digests(sorted(earlier)),
        )

    with rows_of(path) as file_rows:
        rows: list[tuple[int, list[str]]] = []
        for number, cells in file_rows:
            if number <= scan.header_row or is_blank(cells):
                continue
            rows.append((number, cells))
            if len(rows) == size:
                yield batch(rows), rows
                rows = []
        if rows:
            yield batch(rows), rows


def _refresh_statistics(factory: sessionmaker[Session]) -> None:
    """ANALYZE after the import, best effort: every chunk is committed, and stays so."""
    try:
        with factory() as session, session.begin():
            refresh_planner_statistics(session)
    except SQLAlchemyError as exc:
        # Look-ups stay correct, only slow, until autovacuum or the next import analyses.
        logger.warning("ANALYZE after a registry import failed: %s", type(exc).__name__)


def import_file(
    factory: sessionmaker[Session],
    *,
    actor: Principal,
    path: Path,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    today: date | None = None,
    workers: int = 1,
) -> ImportResult:
    """Import a registry file (DESIGN.md §6) in chunked transactions; see the module docstring.

    Takes a session factory rather than a session: each chunk commits on its own, so a failure
    late in a large file keeps the persons written before it. `progress(rows read, rows in
    the file)` is called before the first chunk and after each one is committed. With
    `workers` of 2 or more, a file of `PARALLEL_MIN_ROWS` rows or more is prepared in that
    many worker processes; the outcome is the same.
    """
    require(actor, Permission.REGISTRY_IMPORT)
    scan = _scan(path)  # raises before anything is written
    report = report_path_for(path)
    _check_report_writable(report)
    with factory() as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
    writer = _Writer(
        factory,
        actor=actor,
        import_id=uuid.uuid4(),
        digest=file_sha256(path),
        header=scan.header,
        today=today or latest_possible_date(),
        native=_Native(sqlite=sqlite),
    )
    second = _SecondPass(scan=scan, writer=writer, chunk_rows=chunk_rows)
    if progress is not None:
        progress(0, scan.rows_total)
    parallel = workers >= MIN_WORKERS and scan.rows_total >= PARALLEL_MIN_ROWS
    with _preparing(workers if parallel else 1) as prepare:
        batches = _batches(path, scan, writer, BATCH_ROWS)
        sent: deque[list[tuple[int, list[str]]]] = deque()

        def dispatch() -> Iterator[_Batch]:
            for batch, rows in batches:
                sent.append(rows)
                yield batch

        for prepared in prepare(dispatch()):
            second.plans.update(prepared.plans)
            for (number, cells), outcome in zip(sent.popleft(), prepared.outcomes, strict=True):
                if second.take(number, cells, outcome) and progress is not None:
                    progress(second.processed, scan.rows_total)
    second.finish()
    _write_report(report, second.rejections)
    counts = writer.counts
    if counts.persons_created or counts.persons_updated:
        _refresh_statistics(factory)
    if progress is not None:
        progress(second.processed, scan.rows_total)
    return ImportResult(
        import_id=writer.import_id,
        file_sha256=writer.digest,
        rows_total=scan.rows_total,
        rows_rejected=len(second.rejected_rows),
        chunks=writer.chunks,
        report_path=report,
        counts=writer.counts,
        rejections=sorted(second.rejections, key=lambda r: r.row),
    )

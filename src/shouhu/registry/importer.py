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

Performance: no query per row. Per chunk, one IN query finds the owners of its documents, one
finds its known persons (with their digests), four load the persons that changed, and new rows
go in with one executemany per table.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.roles import Role
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.database import transaction, utcnow
from shouhu.core.errors import ConflictError, ForbiddenError
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
from shouhu.registry.models import (
    AUTHORITY_LENGTH,
    EXTERNAL_ID_LENGTH,
    NameKind,
    RecordKind,
    RecordStatus,
    RegistryBlockingKey,
    RegistryDocument,
    RegistryName,
    RegistryPerson,
    RegistryRecord,
    sealed_for_row,
)
from shouhu.registry.offences import catalogue
from shouhu.registry.profiles import build_profile, key_rows, profile_of_person

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Table
    from sqlalchemy.orm import sessionmaker

    from shouhu.core.principal import Principal

AUDIT_ACTION: Final = "registry:import"
DEFAULT_CHUNK_ROWS: Final = 1000
DECISION_NUMBER_LENGTH: Final = 100
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
    return _Scan(header=header, header_row=header_row, rows_total=total, last_row=last_row)


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


# Parents before children (foreign keys).
_INSERT_ORDER: Final = (
    RegistryPerson,
    RegistryName,
    RegistryDocument,
    RegistryRecord,
    RegistryBlockingKey,
)


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


@dataclass
class _Chunk:
    """Whole persons waiting to be written together."""

    persons: list[list[ValidRow]] = field(default_factory=list)
    rows: int = 0


class _Writer:
    """Writes chunks of persons, each in its own transaction with its audit event."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        actor: Principal,
        import_id: uuid.UUID,
        digest: str,
    ) -> None:
        self.factory = factory
        self.actor = actor
        self.import_id = import_id
        self.digest = digest
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

    def _write(
        self,
        chunk: _Chunk,
        counts: ImportCounts,
        rejections: list[Rejection],
        rows_rejected_before: int,
    ) -> None:
        with transaction(self.factory) as session:
            persons = self._merge(session, chunk, rejections)
            counts.rows = sum(len(p.rows) for p in persons)
            digests = {p.external_id: person_digest(p) for p in persons}
            known = self._known(session, list(digests))
            changed = [
                p.external_id
                for p in persons
                if p.external_id in known and known[p.external_id][1] != digests[p.external_id]
            ]
            existing = self._existing(session, [known[e][0] for e in changed])
            inserts: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
            rebuild: dict[uuid.UUID, set[BlockingKey]] = {}
            for person in persons:
                digest = digests[person.external_id]
                if person.external_id not in known:
                    self._create(person, digest, inserts, counts)
                elif person.external_id in existing:
                    stored = existing[person.external_id]
                    self._update(session, stored, person, rebuild, counts)
                    stored.import_digest = digest
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
                    inserts[RegistryBlockingKey].extend(key_rows(person_id, keys))
            session.flush()
            # Core inserts (column names, no ORM bookkeeping), parents before children.
            for model in _INSERT_ORDER:
                if inserts[model]:
                    session.execute(insert(cast("Table", model.__table__)), inserts[model])
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

    def _merge(
        self, session: Session, chunk: _Chunk, rejections: list[Rejection]
    ) -> list[PersonInput]:
        """Drop rows whose document belongs to another person, then merge each person."""
        indexes = {
            row.document_index
            for rows in chunk.persons
            for row in rows
            if row.document.id_type is not IdType.OTHER
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
                .where(RegistryDocument.number_index.in_(indexes))
            )
            owners = {(t, i): e for t, i, e in owned}
        persons: list[PersonInput] = []
        for rows in chunk.persons:
            kept: list[ValidRow] = []
            for row in rows:
                key = (row.document.id_type.value, row.document_index)
                owner = owners.setdefault(key, row.external_id)
                # One document, one person: the same passport or PRC number under two
                # external_ids is a duplicate for a person to resolve (merge under one id).
                if owner != row.external_id and row.document.id_type is not IdType.OTHER:
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
            if not kept:
                continue
            person, conflicts = merge_person(kept)
            rejections.extend(conflicts)
            persons.append(person)
        return persons

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
            ).where(RegistryPerson.external_id.in_(external_ids))
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
    def _create(
        person: PersonInput,
        digest: str,
        inserts: dict[type[Any], list[dict[str, Any]]],
        counts: ImportCounts,
    ) -> None:
        person_id = uuid.uuid4()
        now = utcnow()
        names = [(NameKind.PRIMARY, person.name)] + [
            (NameKind.FORMER, former) for former in person.former_names
        ]
        profile = build_profile(
            names=[(kind.value, text) for kind, text in names],
            documents=[
                ProfileDocument(d.id_type.value, d.lifelong_number, d.nationality)
                for d, _ in person.documents.values()
            ],
            date_of_birth=person.date_of_birth,
            sex=person.sex,
            nationality=person.nationality,
        )
        inserts[RegistryPerson].append(
            {
                "id": person_id,
                "external_id": person.external_id,
                "name": sealed_for_row(RegistryPerson.name, person_id, person.name),
                "sex": person.sex,
                "date_of_birth": (
                    None
                    if person.date_of_birth is None
                    else sealed_for_row(
                        RegistryPerson.date_of_birth, person_id, person.date_of_birth
                    )
                ),
                "nationality": person.nationality,
                "import_digest": digest,
                "match_profile": sealed_for_row(RegistryPerson.match_profile, person_id, profile),
                "keys_version": KEYS_VERSION,
                "created_at": now,
                "updated_at": now,
            }
        )
        for kind, text in names:
            name_id = uuid.uuid4()
            inserts[RegistryName].append(
                {
                    "id": name_id,
                    "person_id": person_id,
                    "kind": kind.value,
                    "name": sealed_for_row(RegistryName.name, name_id, text),
                    "created_at": now,
                }
            )
        for document, index in person.documents.values():
            document_id = uuid.uuid4()
            inserts[RegistryDocument].append(
                {
                    "id": document_id,
                    "person_id": person_id,
                    "id_type": document.id_type.value,
                    "number": sealed_for_row(RegistryDocument.number, document_id, document.number),
                    "number_index": index,
                    "nationality": document.nationality,
                    "created_at": now,
                }
            )
        for item in person.records.values():
            inserts[RegistryRecord].append(_record_row(person_id, item, now))
        inserts[RegistryBlockingKey].extend(key_rows(person_id, stored_keys(profile)))
        counts.persons_created += 1
        counts.names_added += len(names)
        counts.documents_added += len(person.documents)
        counts.records_added += len(person.records)

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


def _update_records(
    session: Session,
    stored: RegistryPerson,
    person: PersonInput,
    counts: ImportCounts,
    now: datetime,
) -> bool:
    """Add new records and correct the authority or date of known ones; whether any changed."""
    changed = False
    records = {r.fingerprint: r for r in stored.records}
    for item in person.records.values():
        known = records.get(item.fingerprint)
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


def _record_row(person_id: uuid.UUID, item: RecordInput, now: datetime) -> dict[str, Any]:
    record_id = uuid.uuid4()
    return {
        "id": record_id,
        "person_id": person_id,
        "kind": item.kind.value,
        "offence": item.offence,
        "decision_authority": item.authority,
        "decision_number": sealed_for_row(RegistryRecord.decision_number, record_id, item.number),
        "decision_date": item.decision_date,
        "status": RecordStatus.ACTIVE.value,
        "fingerprint": item.fingerprint,
        "created_at": now,
        "updated_at": now,
    }


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


# --- the import ---------------------------------------------------------------------------------


def require_import_right(actor: Principal) -> None:
    """Registry clerks import; so does the operator's shell (`shouhu registry import`)."""
    if actor.user_id is None and actor.channel in {"cli", "system"}:
        return
    if not actor.has_role(Role.REGISTRY_CLERK.value):
        raise ForbiddenError("You do not have permission to do this.")


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
    """Validates each row and gathers valid ones into whole persons, then into chunks."""

    scan: _Scan
    writer: _Writer
    chunk_rows: int
    today: date
    pending: dict[str, list[ValidRow]] = field(default_factory=lambda: defaultdict(list))
    chunk: _Chunk = field(default_factory=_Chunk)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    rejected_since_chunk: int = 0
    processed: int = 0

    def take(self, number: int, cells: list[str]) -> bool:
        """Validate one data row; whether a chunk was written because of it."""
        self.processed += 1
        header = self.scan.header
        values = dict(zip(header, cells, strict=False))
        outcome = validate_row(number, values, today=self.today)
        if len(cells) > len(header) and not is_blank(cells[len(header) :]):
            extra = Rejection(number, ROW, "extra_cells", "values beyond the last column")
            outcome = [extra, *outcome] if isinstance(outcome, list) else [extra]
        if isinstance(outcome, list):
            self.rejections.extend(outcome)
            self.rejected_rows.add(number)
            self.rejected_since_chunk += 1
        else:
            self.pending[outcome.external_id].append(outcome)
        # A person goes into a chunk once their last row is read: never half a person.
        external_id = _clean_external_id(values.get("external_id", ""))
        if external_id and self.scan.last_row.get(external_id) == number:
            self._complete(self.pending.pop(external_id, None))
        if self.chunk.rows < self.chunk_rows:
            return False
        self._write()
        return True

    def finish(self) -> None:
        """Write what is left (at least one chunk, so that every import is audited)."""
        # Every person's last row has been read, so nothing should be pending; a file changed
        # between the passes could leave some, and they are written rather than lost.
        for rows in list(self.pending.values()):
            self._complete(rows)
        self.pending.clear()
        if self.chunk.persons or self.rejected_since_chunk or self.writer.chunks == 0:
            self._write()
        self.rejections.extend(self.writer.rejections)
        self.rejected_rows.update(r.row for r in self.writer.rejections)

    def _complete(self, rows: list[ValidRow] | None) -> None:
        if rows:
            self.chunk.persons.append(rows)
            self.chunk.rows += len(rows)

    def _write(self) -> None:
        self.writer.write(self.chunk, rows_rejected_before=self.rejected_since_chunk)
        self.chunk, self.rejected_since_chunk = _Chunk(), 0


def import_file(
    factory: sessionmaker[Session],
    *,
    actor: Principal,
    path: Path,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportResult:
    """Import a registry file (DESIGN.md §6) in chunked transactions; see the module docstring.

    Takes a session factory rather than a session: each chunk commits on its own, so a failure
    late in a large file keeps the persons written before it. `progress(rows read, rows in
    the file)` is called before the first chunk and after each one is committed.
    """
    require_import_right(actor)
    scan = _scan(path)  # raises before anything is written
    report = report_path_for(path)
    _check_report_writable(report)
    writer = _Writer(factory, actor=actor, import_id=uuid.uuid4(), digest=file_sha256(path))
    second = _SecondPass(
        scan=scan,
        writer=writer,
        chunk_rows=chunk_rows,
        today=today or latest_possible_date(),
    )
    if progress is not None:
        progress(0, scan.rows_total)
    with rows_of(path) as rows:
        for number, cells in rows:
            if number <= scan.header_row or is_blank(cells):
                continue
            if second.take(number, cells) and progress is not None:
                progress(second.processed, scan.rows_total)
    second.finish()
    if progress is not None:
        progress(second.processed, scan.rows_total)
    _write_report(report, second.rejections)
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

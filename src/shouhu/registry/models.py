"""Registry persons, their names, identity documents and records, and their blocking keys.

Everything that identifies a person is sealed per field (DESIGN §4); equality look-ups go through
blind indexes (HMAC under the blind-index key) and fuzzy candidate look-ups through the blocking
keys of `RegistryBlockingKey` (see `shouhu.registry.blocking`).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shouhu.core.crypto.fields import (
    EncryptedBytes,
    EncryptedField,
    EncryptedString,
    Sealed,
    seal,
)
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow
from shouhu.matching.profile import MatchProfile

T = TypeVar("T")

# Lengths of the plaintext columns.
EXTERNAL_ID_LENGTH = 64
AUTHORITY_LENGTH = 200
BLIND_INDEX_LENGTH = 64  # hex HMAC-SHA256
BLOCKING_KEY_BYTES = 16


class Sex(StrEnum):
    """Sex as recorded on identity documents (GB 11643: M or F)."""

    MALE = "M"
    FEMALE = "F"


class NameKind(StrEnum):
    """Which of a person's names a name row is."""

    PRIMARY = "primary"
    FORMER = "former"  # 曾用名: a name the person used to be registered under
    ALIAS = "alias"  # 别名, nicknames and other names the person is known by


class RecordKind(StrEnum):
    """What decided a record (2020 Opinions on the Staff-Access Inquiry, art. 2)."""

    CONVICTION = "conviction"  # a court's judgment
    NON_PROSECUTION = "non_prosecution"  # Criminal Procedure Law art. 177(2)
    ADMINISTRATIVE_PENALTY = "administrative_penalty"  # public security, for indecency


class RecordStatus(StrEnum):
    """Where a record is in its life (`shouhu.registry.lifecycle` holds the transitions)."""

    DRAFT = "draft"  # being written by its submitter; seen by the submitting organisation only
    PENDING_REVIEW = "pending_review"  # waiting for a registry reviewer (four eyes)
    RETURNED = "returned"  # sent back to the submitter with a reason
    ACTIVE = "active"  # approved: counts for the inquiries the policy puts it in scope of
    CORRECTED = "corrected"  # replaced by a newer version; kept and linked
    REVOKED = "revoked"  # quashed on appeal or retrial, or withdrawn: counts for nothing
    SEALED = "sealed"  # juvenile record, Criminal Procedure Law art. 286: never for employers


# The current version of a decision: one per person and fingerprint (a partial unique index).
LIVE_STATUSES: Final = (RecordStatus.ACTIVE, RecordStatus.REVOKED, RecordStatus.SEALED)


class RecordSource(StrEnum):
    """How a record reached the registry."""

    IMPORT = "import"  # an operator's bulk load (`shouhu registry import`)
    COURT = "court"  # a court clerk's submission of a conviction
    PROCURATORATE = "procuratorate"  # a prosecutor's non-prosecution decision
    PUBLIC_SECURITY = "public_security"  # a registry clerk's administrative penalty
    PAPER = "paper"  # a court or procuratorate decision received on paper, entered by a clerk
    # A conviction at the end of a one-stop case, handed off by its case officer as a draft
    # (issue 6 item 9); a registry clerk checks it against the judgment and sends it for review.
    ONESTOP_CASE = "onestop_case"


class EncryptedDate(EncryptedField[date]):
    """An encrypted calendar date, sealed as its ISO 8601 text."""

    def encode(self, value: date) -> bytes:
        """YYYY-MM-DD, ASCII."""
        return value.isoformat().encode("ascii")

    def decode(self, raw: bytes) -> date:
        """Parse YYYY-MM-DD."""
        return date.fromisoformat(raw.decode("ascii"))


class EncryptedProfile(EncryptedField[MatchProfile]):
    """An encrypted match profile (`shouhu.matching.profile`)."""

    def encode(self, value: MatchProfile) -> bytes:
        """Compact JSON."""
        return value.to_bytes()

    def decode(self, raw: bytes) -> MatchProfile:
        """Parse the JSON."""
        return MatchProfile.from_bytes(raw)


class EncryptedValues(EncryptedField[dict[str, str]]):
    """Encrypted text values by name (a submission's subject as the submitter gave it)."""

    def encode(self, value: dict[str, str]) -> bytes:
        """Compact JSON, keys sorted."""
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def decode(self, raw: bytes) -> dict[str, str]:
        """Parse the JSON."""
        parsed = json.loads(raw)
        return {str(key): str(value) for key, value in parsed.items()}


def sealed_for_row(field: EncryptedField[T], row_id: uuid.UUID, value: T) -> bytes:
    """The envelope `field` would store for `value` in the row `row_id` (for bulk inserts)."""
    return seal(field.encode(value), field.aad_for_row(row_id))


class RegistryPerson(UUIDPrimaryKey, Base):
    """A person the registry holds records of."""

    __tablename__ = "registry_persons"

    # The identifier the submitting system gives the person; rows sharing it are one person.
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), unique=True)
    name_sealed: Mapped[bytes] = mapped_column("name", Sealed())
    name = EncryptedString()
    sex: Mapped[str | None] = mapped_column(String(1))
    date_of_birth_sealed: Mapped[bytes | None] = mapped_column("date_of_birth", Sealed())
    date_of_birth = EncryptedDate()
    nationality: Mapped[str | None] = mapped_column(String(3))  # ISO 3166-1 alpha-3
    # Blind index of what the last import said about the person (`importer.person_digest`):
    # when a file says the same again, re-importing it can skip the person without decrypting.
    import_digest: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH))
    # Everything matching compares, in one envelope, so that scoring a candidate costs one
    # decryption; and the version of the key derivation (`matching.blocking.KEYS_VERSION`) that
    # built the person's blocking keys. Both are rebuilt together (`registry.profiles`).
    match_profile_sealed: Mapped[bytes | None] = mapped_column("match_profile", Sealed())
    match_profile = EncryptedProfile()
    keys_version: Mapped[int | None] = mapped_column(Integer, index=True)
    # Set when a reviewer merged this person into another (`registry.merging`): their names,
    # documents and records moved there, and this row stays, emptied, so the merge can be undone.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    names: Mapped[list[RegistryName]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, back_populates="person"
    )
    documents: Mapped[list[RegistryDocument]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, back_populates="person"
    )
    records: Mapped[list[RegistryRecord]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, back_populates="person"
    )


class RegistryName(UUIDPrimaryKey, Base):
    """One name of a person: the primary name, a former name or an alias."""

    __tablename__ = "registry_names"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    name_sealed: Mapped[bytes] = mapped_column("name", Sealed())
    name = EncryptedString()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[RegistryPerson] = relationship(back_populates="names")


class RegistryDocument(UUIDPrimaryKey, Base):
    """An identity document of a person, its number sealed and blind-indexed."""

    __tablename__ = "registry_documents"
    __table_args__ = (
        # Led by person_id, the unique constraint's index also serves loading their documents.
        UniqueConstraint("person_id", "id_type", "number_index"),
        # One document, one person (the import's rule, kept by the database so that two
        # approvals at once cannot register one human twice); `other` documents may repeat.
        Index(
            "uq_registry_documents_holder",
            "id_type",
            "number_index",
            unique=True,
            sqlite_where=text("id_type <> 'other'"),
            postgresql_where=text("id_type <> 'other'"),
        ),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE")
    )
    id_type: Mapped[str] = mapped_column(String(16))
    number_sealed: Mapped[bytes] = mapped_column("number", Sealed())
    number = EncryptedString()
    # blind_index(canonical number, domain=DOCUMENT_NUMBER_DOMAIN): exact look-ups and the
    # one-document-one-person check of the import.
    number_index: Mapped[str] = mapped_column(String(BLIND_INDEX_LENGTH), index=True)
    nationality: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[RegistryPerson] = relationship(back_populates="documents")


class RegistryRecord(UUIDPrimaryKey, Base):
    """A decision about a person: a conviction, a non-prosecution or an administrative penalty.

    Each version of a decision is a row: a correction adds a row that `supersedes` the one it
    corrects, which is kept as `corrected`. A submission has no person until it is approved:
    the subject is held sealed as the submitter gave it, and approval finds or creates the
    registry person (`shouhu.registry.lifecycle`).
    """

    __tablename__ = "registry_records"
    __table_args__ = (
        # One current version of the same decision about the same person. One judgment can
        # convict several co-defendants and of several offences, hence the person and offence
        # in the fingerprint; corrected and unapproved versions stand outside the rule.
        Index(
            "uq_registry_records_live_fingerprint",
            "person_id",
            "fingerprint",
            unique=True,
            sqlite_where=text("status IN ('active', 'revoked', 'sealed')"),
            postgresql_where=text("status IN ('active', 'revoked', 'sealed')"),
        ),
        # The reviewers' queue: pending records of one reviewing organisation, oldest first.
        Index(
            "ix_registry_records_review_queue", "review_organisation_id", "status", "submitted_at"
        ),
    )

    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    offence: Mapped[str] = mapped_column(String(32), index=True)
    decision_authority: Mapped[str] = mapped_column(String(AUTHORITY_LENGTH))
    decision_number_sealed: Mapped[bytes] = mapped_column("decision_number", Sealed())
    decision_number = EncryptedString()
    decision_date: Mapped[date] = mapped_column(Date)
    # When the offence was committed and the sentence in months (none: not custodial or not
    # a conviction): what decides whether a record may be sealed (CPL art. 286).
    offence_date: Mapped[date | None] = mapped_column(Date)
    sentence_months: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.ACTIVE.value, index=True)
    source: Mapped[str] = mapped_column(String(16), default=RecordSource.IMPORT.value)
    # blind_index over kind, offence and the folded decision number (RECORD_DOMAIN): the same
    # decision about the same person is one record, however often it is imported.
    fingerprint: Mapped[str] = mapped_column(String(BLIND_INDEX_LENGTH))
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_records.id", ondelete="RESTRICT"), index=True
    )
    # The identity columns of DESIGN §6 as the submitter entered them (no person yet).
    subject_sealed: Mapped[bytes | None] = mapped_column("subject", Sealed())
    subject = EncryptedValues()
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    submitting_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # The public security organisation whose reviewers decide the record.
    review_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[RegistryPerson | None] = relationship(back_populates="records")
    transitions: Mapped[list[RegistryRecordTransition]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="RegistryRecordTransition.seq",
    )
    files: Mapped[list[RegistryRecordFile]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class RegistryRecordTransition(UUIDPrimaryKey, Base):
    """One change of a record's status: who, when, from what to what, and why (sealed)."""

    __tablename__ = "registry_record_transitions"
    __table_args__ = (UniqueConstraint("record_id", "seq"),)

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_records.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per record
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A return, revocation or sealing says why; the reason may name people, so it is sealed.
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()


class RegistryRecordFile(UUIDPrimaryKey, Base):
    """A scan of the decision document, sealed, with the SHA-256 of its plaintext."""

    __tablename__ = "registry_record_files"

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_records.id", ondelete="CASCADE"), index=True
    )
    filename_sealed: Mapped[bytes] = mapped_column("filename", Sealed())
    filename = EncryptedString()
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_sealed: Mapped[bytes] = mapped_column("content", Sealed())
    content = EncryptedBytes()
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DuplicateStatus(StrEnum):
    """What a reviewer made of a pair the duplicate sweep found."""

    OPEN = "open"
    MERGED = "merged"
    DISMISSED = "dismissed"  # two humans after all (or a merge of them undone)


class RegistryDuplicatePair(UUIDPrimaryKey, Base):
    """Two persons the duplicate sweep takes for one human, waiting for a reviewer's decision.

    `first_person_id` is the smaller id, so a pair has one row however often it is found.
    """

    __tablename__ = "registry_duplicate_pairs"
    __table_args__ = (UniqueConstraint("first_person_id", "second_person_id"),)

    first_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE")
    )
    second_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))  # hit or possible_match
    score: Mapped[float] = mapped_column(Float)
    # Which fields agreed and disagreed, with their weights: field names, never their values.
    reasons: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DuplicateStatus.OPEN.value, index=True)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None]
    # Why a reviewer dismissed it (a merge keeps its reason on the merge).
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()


class RegistryPersonMerge(UUIDPrimaryKey, Base):
    """One merge of a person into another, with what moved, so that it can be undone."""

    __tablename__ = "registry_person_merges"

    kept_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="RESTRICT"), index=True
    )
    merged_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="RESTRICT"), index=True
    )
    pair_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_duplicate_pairs.id", ondelete="SET NULL")
    )
    # JSON: the ids of the names (with their kind before the merge), documents and records moved.
    moved: Mapped[str] = mapped_column(Text)
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()
    merged_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    undone_at: Mapped[datetime | None]
    undo_reason_sealed: Mapped[bytes | None] = mapped_column("undo_reason", Sealed())
    undo_reason = EncryptedString()


class RegistryBlockingKey(Base):
    """One blocking key of a person: the matching engine's way in, never a full scan.

    `key` is the first 16 bytes of an HMAC (`shouhu.matching.blocking.key_digest`) whose domain
    names the kind, so keys of different kinds never collide and the primary key, led by `key`,
    is the look-up index. Kept lean on purpose: at 10⁶ persons there are some 2×10⁷ rows.
    """

    __tablename__ = "registry_blocking_keys"

    key: Mapped[bytes] = mapped_column(LargeBinary(BLOCKING_KEY_BYTES), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(8))

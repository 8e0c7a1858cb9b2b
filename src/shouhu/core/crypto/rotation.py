"""Field-key rotation: re-seal every encrypted column under a new key, resumably (DESIGN §4).

A rotation has four steps, each committed on its own:

1. a new field key becomes `active` and the old one `retiring`, so new writes use the new key
   at once (in this process; other processes pick it up when they reload their keyring);
2. every table with a `Sealed` column is walked in primary-key order, one committed transaction
   per batch, re-sealing each value that is still under a retiring key; values already under
   the new key are skipped, so a run that stopped half-way resumes where it stopped;
3. data sealed outside the database under the field key (evidence files: their data keys are
   wrapped by it) is brought under the new key by the steps the caller hands in, which run
   after the walk and raise a `RotationError` if anything is left that they could not move;
4. once no value is left under a retiring key, those keys become `retired` and are dropped
   from the keyring.

`core` cannot import the domains that hold such data (`shouhu.onestop.blob_rotation` for the
evidence store), so the command that runs the rotation passes their steps in.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from shouhu.core import models_registry
from shouhu.core.audit.chain import record
from shouhu.core.crypto.fields import (
    DecryptionError,
    EncryptedField,
    Sealed,
    envelope_key_id,
    open_sealed,
    seal,
)
from shouhu.core.crypto.keyring import (
    Keyring,
    create_key,
    install_keyring,
    load_keyring,
)
from shouhu.core.crypto.models import CryptoKey, KeyPurpose, KeyStatus
from shouhu.core.database import Base, transaction, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Column, Table
    from sqlalchemy.orm import DeclarativeBase, Mapper, Session, sessionmaker

    from shouhu.core.principal import Principal

AUDIT_ACTION = "keys:rotate"
DEFAULT_BATCH_SIZE = 500
# A pass that met rows changed under it (a concurrent writer) is followed by another pass;
# after this many the rotation stops short of retiring the old key and asks to be run again.
MAX_PASSES = 3


class RotationError(Exception):
    """The rotation cannot go on: a table it cannot walk, or a value it cannot open."""


@dataclass(frozen=True)
class SealedColumn:
    """One `Sealed` column and the field descriptor whose associated data it is sealed with."""

    column: Column[Any]
    field: EncryptedField[Any]


@dataclass(frozen=True)
class SealedTable:
    """A table with encrypted columns, walked by its single primary-key column."""

    table: Table
    primary_key: Column[Any]
    columns: tuple[SealedColumn, ...]

    @property
    def name(self) -> str:
        """Return the table's name."""
        return self.table.name


@dataclass(frozen=True)
class RotationProgress:
    """How far the walk of one table has got; sent after each committed batch.

    A step walking something else (evidence files) names it in `table` and reports the same.
    """

    table: str
    scanned: int
    total: int
    re_encrypted: int


@dataclass
class RotationReport:
    """What one run of `rotate_field_key` did."""

    old_key_ids: tuple[str, ...]
    new_key_id: str
    resumed: bool
    re_encrypted: dict[str, int] = field(default_factory=dict)
    completed: bool = False

    @property
    def total_re_encrypted(self) -> int:
        """Return the number of rows re-encrypted in all tables."""
        return sum(self.re_encrypted.values())


@dataclass(frozen=True)
class RotationStep:
    """What a step of the rotation (see the module docstring, step 3) is given to work with."""

    session_factory: sessionmaker[Session]
    actor: Principal
    keyring: Keyring  # holds the active key and every retiring one
    active_key_id: str
    retiring_key_ids: tuple[str, ...]
    resumed: bool
    progress: Callable[[RotationProgress], None] | None


# Brings everything it is responsible for under `step.active_key_id`, audits what it did, and
# raises a RotationError if anything is left under a retiring key: the key is then not retired.
BeforeRetiring = Callable[[RotationStep], None]


def _descriptors(cls: type) -> Iterator[EncryptedField[Any]]:
    seen: set[int] = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, EncryptedField) and id(value) not in seen:
                seen.add(id(value))
                yield value


def _field_for(column: Column[Any], mappers: list[Mapper[Any]]) -> EncryptedField[Any]:
    for mapper in mappers:
        prop = mapper.get_property_by_column(column)
        for descriptor in _descriptors(mapper.class_):
            if descriptor.column_attr == prop.key:
                return descriptor
    # Without the descriptor the associated data (its attribute name) is unknown.
    raise RotationError(
        f"{column.table.name}.{column.name} is Sealed but no EncryptedField maps to it"
    )


def sealed_tables(base: type[DeclarativeBase] = Base) -> list[SealedTable]:
    """Find every mapped table with a `Sealed` column, and the descriptor of each column."""
    # The registry module imports every model module, so later domain tables are included.
    metadata = models_registry.metadata if base is Base else base.metadata
    mappers_by_table: dict[str, list[Mapper[Any]]] = defaultdict(list)
    for mapper in base.registry.mappers:
        mappers_by_table[mapper.local_table.name].append(mapper)  # type: ignore[attr-defined]
    found: list[SealedTable] = []
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        sealed = [c for c in table.columns if isinstance(c.type, Sealed)]
        if not sealed:
            continue
        mappers = mappers_by_table.get(name, [])
        if not mappers:
            raise RotationError(f"{name} has Sealed columns but no mapped class")
        primary_key = list(table.primary_key.columns)
        if len(primary_key) != 1:
            # EncryptedField binds one row id (UUIDPrimaryKey.ensure_id) into the AAD.
            raise RotationError(f"{name} has Sealed columns but not a single-column primary key")
        columns = tuple(SealedColumn(column, _field_for(column, mappers)) for column in sealed)
        found.append(SealedTable(table, primary_key[0], columns))
    return found


def _reload_keyring(session_factory: sessionmaker[Session], master_key: bytes) -> Keyring:
    with transaction(session_factory) as session:
        keyring = load_keyring(session, master_key)
    install_keyring(keyring)
    return keyring


def _begin(session: Session, master_key: bytes) -> tuple[tuple[str, ...], str, bool]:
    field_keys = (
        select(CryptoKey)
        .where(CryptoKey.purpose == KeyPurpose.FIELD.value)
        .order_by(CryptoKey.created_at)
    )
    # Locking the field-key rows makes a second, concurrent rotation wait here and then
    # resume the first instead of creating yet another key (SQLite serialises writers anyway).
    session.execute(field_keys.with_for_update()).all()
    # Under READ COMMITTED the locking read may predate the key that rotation committed;
    # a new statement sees it.
    rows = list(session.scalars(field_keys.execution_options(populate_existing=True)))
    retiring = tuple(r.id for r in rows if r.status == KeyStatus.RETIRING)
    active = [r for r in rows if r.status == KeyStatus.ACTIVE]
    if retiring and active:
        return retiring, active[-1].id, True
    new = create_key(session, master_key, KeyPurpose.FIELD)
    if retiring:
        return retiring, new.id, True
    for row in active:
        row.status = KeyStatus.RETIRING.value
    session.flush()
    return tuple(r.id for r in active), new.id, False


def _rotate_batch(
    session: Session, table: SealedTable, rows: list[Any], retiring: set[str], active: str
) -> tuple[int, int]:
    done = conflicts = 0
    for row in rows:
        row_id = row[0]
        old: dict[Column[Any], bytes] = {}
        new: dict[Column[Any], bytes] = {}
        for position, sealed in enumerate(table.columns, start=1):
            envelope = row[position]
            if envelope is None:
                continue
            try:
                if envelope_key_id(envelope) not in retiring:
                    continue
                aad = sealed.field.aad_for_row(row_id)
                new[sealed.column] = seal(open_sealed(envelope, aad), aad, key_id=active)
            except DecryptionError as exc:
                # An unreadable value means damage or tampering: stop and say where, never skip.
                where = f"{table.name}.{sealed.column.name} row {row_id}"
                raise RotationError(f"{where}: {exc}") from exc
            old[sealed.column] = envelope
        if not new:
            continue
        # Compare-and-set: if a writer changed the row since it was read, leave its value alone.
        result = session.execute(
            update(table.table)
            .where(table.primary_key == row_id, *(column == value for column, value in old.items()))
            .values(new)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            done += 1
        else:
            conflicts += 1
    return done, conflicts


def _rotate_table(
    session_factory: sessionmaker[Session],
    table: SealedTable,
    *,
    retiring: set[str],
    active: str,
    batch_size: int,
    progress: Callable[[RotationProgress], None] | None,
) -> tuple[int, int]:
    with transaction(session_factory) as session:
        total = int(session.scalar(select(func.count()).select_from(table.table)) or 0)
    if progress is not None:
        progress(RotationProgress(table.name, 0, total, 0))
    columns = [table.primary_key, *(sealed.column for sealed in table.columns)]
    last: object | None = None
    scanned = done = conflicts = 0
    while True:
        # Each batch commits on its own, so an interruption loses at most one batch of work.
        with transaction(session_factory) as session:
            statement = select(*columns).order_by(table.primary_key).limit(batch_size)
            if last is not None:
                statement = statement.where(table.primary_key > last)
            rows = list(session.execute(statement))
            batch_done, batch_conflicts = _rotate_batch(session, table, rows, retiring, active)
        if not rows:
            return done, conflicts
        done += batch_done
        conflicts += batch_conflicts
        scanned += len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress(RotationProgress(table.name, scanned, max(total, scanned), done))


def _walk(
    session_factory: sessionmaker[Session],
    tables: list[SealedTable],
    report: RotationReport,
    *,
    retiring: set[str],
    batch_size: int,
    progress: Callable[[RotationProgress], None] | None,
) -> None:
    for _ in range(MAX_PASSES):
        conflicts = 0
        for table in tables:
            done, table_conflicts = _rotate_table(
                session_factory,
                table,
                retiring=retiring,
                active=report.new_key_id,
                batch_size=batch_size,
                progress=progress,
            )
            report.re_encrypted[table.name] += done
            conflicts += table_conflicts
        if conflicts == 0:
            return
    raise RotationError(
        "rows kept changing under the retiring key; run the rotation again to finish"
    )


def _retire(
    session_factory: sessionmaker[Session], actor: Principal, report: RotationReport
) -> None:
    with transaction(session_factory) as session:
        rows = session.scalars(
            select(CryptoKey).where(CryptoKey.id.in_(report.old_key_ids)).with_for_update()
        )
        for row in rows:
            row.status = KeyStatus.RETIRED.value
            row.retired_at = utcnow()
        record(
            session,
            actor=actor,
            action=AUDIT_ACTION,
            object_type="crypto_key",
            object_id=report.new_key_id,
            details={
                "phase": "complete",
                "retired": list(report.old_key_ids),
                "active": report.new_key_id,
                "resumed": report.resumed,
                "re_encrypted": report.re_encrypted,
            },
        )


def rotate_field_key(
    session_factory: sessionmaker[Session],
    master_key: bytes,
    *,
    actor: Principal,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[RotationProgress], None] | None = None,
    settle_seconds: float = 0.0,
    before_retiring: Sequence[BeforeRetiring] = (),
) -> RotationReport:
    """Rotate the field key, or resume a rotation that stopped: re-seal, then retire the old key.

    `before_retiring` steps run after the database walk and the settle time, in order; the
    old key is retired only if they all return. Audited as `keys:rotate` at the start and at
    completion (key ids only, never key material); each step audits its own part.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # Discover the tables before changing anything, so a mapping error leaves the keys alone.
    tables = sealed_tables()
    switched_at = time.monotonic()
    with transaction(session_factory) as session:
        old_ids, new_id, resumed = _begin(session, master_key)
        record(
            session,
            actor=actor,
            action=AUDIT_ACTION,
            object_type="crypto_key",
            object_id=new_id,
            details={
                "phase": "start",
                "retiring": list(old_ids),
                "active": new_id,
                "resumed": resumed,
            },
        )
    keyring = _reload_keyring(session_factory, master_key)
    retiring = set(keyring.retiring_field_key_ids)
    report = RotationReport(
        old_key_ids=tuple(sorted(retiring)),
        new_key_id=keyring.active_field_key_id,
        resumed=resumed,
        re_encrypted={table.name: 0 for table in tables},
    )
    try:
        _walk(
            session_factory,
            tables,
            report,
            retiring=retiring,
            batch_size=batch_size,
            progress=progress,
        )
        # Serving processes keep sealing with the old key until they notice the rotation
        # (settings.keyring_refresh_seconds); wait that out, then sweep up what they wrote.
        # The sweep runs even when the first walk outlasted the wait: a straggler may have
        # landed in a table that walk had already passed.
        if settle_seconds > 0:
            remaining = settle_seconds - (time.monotonic() - switched_at)
            if remaining > 0:
                time.sleep(remaining)
            _walk(
                session_factory,
                tables,
                report,
                retiring=retiring,
                batch_size=batch_size,
                progress=progress,
            )
        # After the settle time, so that files written by servers that had not yet noticed the
        # new key are among those the steps find.
        step = RotationStep(
            session_factory=session_factory,
            actor=actor,
            keyring=keyring,
            active_key_id=report.new_key_id,
            retiring_key_ids=report.old_key_ids,
            resumed=resumed,
            progress=progress,
        )
        for run_step in before_retiring:
            run_step(step)
    except BaseException as exc:
        # Leave a trace of the interruption; the next run resumes and says so in its own event.
        with contextlib.suppress(Exception), transaction(session_factory) as session:
            record(
                session,
                actor=actor,
                action=AUDIT_ACTION,
                outcome="failure",
                object_type="crypto_key",
                object_id=report.new_key_id,
                details={
                    "phase": "interrupted",
                    "error": type(exc).__name__,
                    "re_encrypted": report.re_encrypted,
                },
            )
        raise
    _retire(session_factory, actor, report)
    report.completed = True
    _reload_keyring(session_factory, master_key)
    return report

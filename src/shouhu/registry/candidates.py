"""The registry as the matching engine's candidate source (`shouhu.matching.engine`).

Every look-up goes through the primary-key index of `registry_blocking_keys` (led by the key) and
the primary key of the persons: never a scan, on SQLite and PostgreSQL alike. The two queries a
match needs are written in SQL on the driver's cursor: they run tens of thousands of times a
minute, and building them through the ORM cost more than running them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from sqlalchemy.orm import Session

from shouhu.core.crypto.fields import open_sealed
from shouhu.matching.blocking import KeyKind
from shouhu.matching.engine import Candidate, PersonRef
from shouhu.matching.profile import MatchProfile
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import RecordScope

# Keys per statement: SQLite allows 32,766 parameters; smaller statements plan as fast.
LOOKUP_BATCH: Final = 500
_KINDS: Final = {kind.value: kind for kind in KeyKind}


def person_uuid(value: PersonRef) -> uuid.UUID:
    """A person id as the driver returns it (SQLite: 32 hex digits; PostgreSQL: a UUID)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


class _Dialect:
    """How the two queries are written and their values converted for one database."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"
        self.mark = "%s" if self.postgres else "?"

    def filter_only(self, column: str) -> str:
        """`column` as a condition that must not pick the index (SQLite: a unary plus)."""
        return f"+{column}" if not self.postgres else column

    def any_of(self, column: str, count: int) -> tuple[str, bool]:
        """`column` equal to any of `count` values; whether the values go as one array."""
        if self.postgres:
            return f"{column} = ANY(%s)", True
        return f"{column} IN ({', '.join('?' * count)})", False


class RegistryCandidates:
    """Candidates from the registry tables, in the caller's session and transaction.

    A candidate is `in_scope` when they hold a record that counts under `scope` (the disclosure
    policy's rule for the inquiry's purpose).
    """

    def __init__(self, session: Session, scope: RecordScope) -> None:
        """Look candidates up in `session` (its connection, inside its transaction)."""
        connection = session.connection()
        self.dialect = _Dialect(connection.dialect.name)
        self.driver = connection.connection.driver_connection
        self.scope = scope

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self.driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _marks(self, count: int) -> str:
        # An empty IN () is a syntax error; a purpose with nothing in scope matches nothing.
        return ", ".join([self.dialect.mark] * count) if count else "NULL"

    def _where(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        clause, as_array = self.dialect.any_of(column, len(values))
        return clause, [list(values)] if as_array else list(values)

    def lookup(self, keys: Collection[bytes]) -> Mapping[bytes, list[tuple[PersonRef, KeyKind]]]:
        """For each key, the persons holding it (and the key's kind)."""
        found: dict[bytes, list[tuple[PersonRef, KeyKind]]] = defaultdict(list)
        values = list(keys)
        for start in range(0, len(values), LOOKUP_BATCH):
            clause, params = self._where("key", values[start : start + LOOKUP_BATCH])
            sql = f"SELECT key, person_id, kind FROM registry_blocking_keys WHERE {clause}"  # noqa: S608 - placeholders only
            for key, person_id, kind in self._rows(sql, params):
                found[bytes(key)].append((person_id, _KINDS[kind]))
        return found

    def lookup_capped(self, key: bytes, *, cap: int) -> list[tuple[PersonRef, KeyKind]]:
        """Up to `cap` persons holding one key."""
        where = f"key = {self.dialect.mark} LIMIT {cap:d}"
        sql = f"SELECT person_id, kind FROM registry_blocking_keys WHERE {where}"  # noqa: S608 - placeholders only
        return [(person_id, _KINDS[kind]) for person_id, kind in self._rows(sql, [key])]

    def profiles(self, person_ids: Collection[PersonRef]) -> Mapping[PersonRef, Candidate]:
        """Each person's profile (one decryption) and whether they hold an active record."""
        scope = self.scope
        counting = [*scope.statuses, *scope.record_kinds, *scope.offences]
        # Through the person's own records (ix_registry_records_person_id): SQLite, which has
        # no statistics, would otherwise walk the status index, every active record of the
        # registry for each candidate (bench/inquiry_load.py: 55% of the server's time at 10⁵).
        plain = self.dialect.filter_only
        in_scope = (
            "SELECT 1 FROM registry_records r WHERE r.person_id = p.id"  # noqa: S608 - placeholders only
            f" AND {plain('r.status')} IN ({self._marks(len(scope.statuses))})"
            f" AND {plain('r.kind')} IN ({self._marks(len(scope.record_kinds))})"
            f" AND {plain('r.offence')} IN ({self._marks(len(scope.offences))})"
        )
        aad = RegistryPerson.match_profile.aad_for_row
        found: dict[PersonRef, Candidate] = {}
        values = list(person_ids)
        for start in range(0, len(values), LOOKUP_BATCH):
            clause, params = self._where("p.id", values[start : start + LOOKUP_BATCH])
            sql = (
                f"SELECT p.id, p.external_id, p.match_profile, EXISTS ({in_scope})"  # noqa: S608 - placeholders only
                f" FROM registry_persons p WHERE {clause}"
            )
            for raw_id, external_id, sealed, counts in self._rows(sql, [*counting, *params]):
                if sealed is None:
                    # Stale persons are refused before screening starts (`check_keys_current`).
                    continue
                # The associated data names the row by its UUID (EncryptedField.aad_for_row).
                aad_id = person_uuid(raw_id)
                profile = MatchProfile.from_bytes(open_sealed(bytes(sealed), aad(aad_id)))
                found[raw_id] = Candidate(raw_id, external_id, profile, in_scope=bool(counts))
        return found

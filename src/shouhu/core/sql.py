"""SQL expressions that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class uuid_text(FunctionElement[str]):  # noqa: N801 - named like the SQL functions it stands for
    """A UUID column as the text `str(uuid)` gives (lower case, with dashes).

    The audit log keeps object and organisation ids as that text, for every kind of object;
    this lets a query compare them with a UUID column without reading ids into Python.
    SQLAlchemy stores a UUID as 32 hex digits on SQLite and natively on PostgreSQL.
    """

    type = String()
    inherit_cache = True
    name = "uuid_text"

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> None:
        super().__init__(column)


@compiles(uuid_text)
def _uuid_text_default(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # 8-4-4-4-12: the groups of the canonical form.
    parts = [f"substr({column}, {start}, {length})" for start, length in UUID_GROUPS]
    return " || '-' || ".join(parts)


UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))

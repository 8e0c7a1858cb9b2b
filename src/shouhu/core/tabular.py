"""Reading tabular files (CSV and XLSX) row by row, with the header checked (DESIGN §6).

Canonical files are UTF-8 CSV with a header row; the same columns in the first sheet of an
`.xlsx` workbook are accepted. Rows stream: a file of a million rows is never held in memory.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Final

# openpyxl ships no type hints and types-openpyxl is not a dependency.
from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

from shouhu.core.errors import DomainError

CSV_SUFFIXES: Final = frozenset({".csv", ".txt"})
XLSX_SUFFIXES: Final = frozenset({".xlsx", ".xlsm"})


class TableFileError(DomainError):
    """The file cannot be read at all (unreadable, not CSV/XLSX, bad header)."""

    status_code = 422
    code = "bad_table_file"


def file_error(path: Path, message: str, **params: Any) -> TableFileError:
    """An error about the file as a whole, naming it."""
    return TableFileError("{file}: " + message, file=str(path), **params)


def _cell_text(value: object) -> str:
    """A spreadsheet cell as text: numbers without a spurious ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_rows(path: Path, handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle, strict=True)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except UnicodeDecodeError as exc:
        raise file_error(path, "not UTF-8 text (near row {row}).", row=number + 1) from exc
    except csv.Error as exc:
        raise file_error(
            path,
            "not a readable CSV file at row {row}: {problem}.",
            row=number + 1,
            problem=str(exc),
        ) from exc


def _xlsx_rows(path: Path, sheet: Any) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield number, [_cell_text(value) for value in cells]
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise file_error(
            path, "the spreadsheet cannot be read: {problem}.", problem=str(exc)
        ) from exc


@contextmanager
def rows_of(
    path: Path, source: IO[bytes] | None = None
) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """Every row of the file (header included) with its number, as lists of text cells.

    `source`, when given, holds the file's bytes (an upload, decrypted in memory) and `path`
    only names it: its suffix chooses the reader and messages name it.
    """
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        try:
            # utf-8-sig: a byte-order mark (Excel writes one) is dropped, not read as a letter.
            handle = (
                io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
                if source is not None
                else path.open(encoding="utf-8-sig", newline="")
            )
        except OSError as exc:
            raise file_error(
                path, "cannot be read: {problem}.", problem=exc.strerror or str(exc)
            ) from exc
        with handle:
            yield _csv_rows(path, handle)
        return
    if suffix in XLSX_SUFFIXES:
        try:
            workbook = load_workbook(source or path, read_only=True, data_only=True)
        except OSError as exc:
            raise file_error(
                path, "cannot be read: {problem}.", problem=exc.strerror or str(exc)
            ) from exc
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise file_error(path, "not a readable .xlsx workbook.") from exc
        try:
            sheet = workbook.worksheets[0]
            # Some writers declare a wrong sheet size; read the rows that are really there.
            sheet.reset_dimensions()
            yield _xlsx_rows(path, sheet)
        finally:
            workbook.close()
        return
    raise file_error(path, "unsupported file type; give a .csv or .xlsx file.")


def is_blank(cells: Sequence[str]) -> bool:
    """Whether every cell of a row is blank."""
    return all(not cell.strip() for cell in cells)


def _clean_header(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lstrip("\ufeff").strip().lower()


def check_header(
    path: Path, cells: Sequence[str], columns: Sequence[str], required: Sequence[str]
) -> list[str]:
    """The column names, or TableFileError naming what is missing, unknown or repeated."""
    header = [_clean_header(cell) for cell in cells]
    while header and not header[-1]:
        header.pop()  # spreadsheets often carry empty formatted columns at the right
    if not header:
        raise file_error(
            path, "the first row must be the header ({columns}).", columns=", ".join(columns)
        )
    blank = [str(position) for position, name in enumerate(header, start=1) if not name]
    if blank:
        raise file_error(path, "header column {positions} has no name.", positions=", ".join(blank))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise file_error(path, "the header repeats {columns}.", columns=", ".join(repeated))
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise file_error(
            path,
            "unknown column(s) {unknown} in the header; the columns are {columns}.",
            unknown=", ".join(unknown),
            columns=", ".join(columns),
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise file_error(
            path, "the header lacks the required column(s) {missing}.", missing=", ".join(missing)
        )
    return header

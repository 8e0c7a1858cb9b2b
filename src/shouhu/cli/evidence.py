"""`shouhu evidence verify-export`: check a case's evidence export offline."""

from __future__ import annotations

import zipfile
from pathlib import Path

import typer

from shouhu.cli.context import err, fail, out
from shouhu.onestop.evidence_export import check_archive

app = typer.Typer(help="One-stop case evidence.", no_args_is_help=True)


@app.command("verify-export")
def verify_export(
    archive: Path = typer.Argument(..., exists=True, dir_okay=False, help="The exported ZIP."),
    public_key: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="The installation's signing key (PEM), from GET /api/v1/certificates/public-key; "
        "not the copy inside the archive.",
    ),
) -> None:
    """Check the manifest's signature, every file's SHA-256 and every custody log; no database."""
    try:
        with zipfile.ZipFile(archive) as opened:
            problems = check_archive(opened, public_key.read_text(encoding="utf-8"))
    except (zipfile.BadZipFile, ValueError) as exc:
        fail(f"not a readable export: {exc}")
    for problem in problems:
        err.print(problem, highlight=False, soft_wrap=True)
    if problems:
        fail(f"{archive}: {len(problems)} problem(s); do not rely on this export")
    out.print(f"{archive}: the signature, every file and every custody log check out")

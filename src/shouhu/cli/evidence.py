"""`shouhu evidence verify-export`: check a case's evidence export offline."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import typer
from cryptography.hazmat.primitives import serialization

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
        help="The installation's signing key: the answer of GET /api/v1/certificates/public-key"
        " saved as it is, or its PEM alone; not the copy inside the archive.",
    ),
) -> None:
    """Check the manifest's signature, every file's SHA-256 and every custody log; no database."""
    pem = _public_key_pem(public_key)
    try:
        with zipfile.ZipFile(archive) as opened:
            problems = check_archive(opened, pem)
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError) as exc:
        fail(f"{archive}: not a readable export ({exc}); export the case again")
    for problem in problems:
        err.print(problem, highlight=False, soft_wrap=True)
    if problems:
        fail(f"{archive}: {len(problems)} problem(s); do not rely on this export")
    out.print(f"{archive}: the signature, every file and every custody log check out")


def _public_key_pem(path: Path) -> str:
    """The PEM of a key file: the public-key endpoint's JSON answer, or a PEM file."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["public_key_pem"])
        except (json.JSONDecodeError, KeyError, TypeError):
            fail(f"{path}: JSON, but not the answer of GET /api/v1/certificates/public-key")
    try:
        serialization.load_pem_public_key(text.encode())
    except ValueError:
        fail(
            f"{path}: not a public key; save the answer of GET /api/v1/certificates/public-key"
            " and give that file"
        )
    return text

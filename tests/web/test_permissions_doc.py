from pathlib import Path

from fastapi import FastAPI

from shouhu.web.permission_matrix import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_docs_permissions_md_matches_the_code(app: FastAPI) -> None:
    # Regenerate with `make docs` after changing routes or role policies.
    assert DOC.read_text(encoding="utf-8") == render(app)

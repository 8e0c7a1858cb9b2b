"""`/healthz` (the process is up) and `/readyz` (database reachable, migrations current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from shouhu.core import migrate
from shouhu.core.database import READ_ONLY
from shouhu.web.deps import PUBLIC

router = APIRouter(dependencies=[PUBLIC], include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and is at the code's migration head."""
    # Read-only: on SQLite it must not queue for the write lock behind a long write.
    engine: Engine = request.app.state.engine.execution_options(**{READ_ONLY: True})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.is_current(engine)
    except Exception:  # noqa: BLE001 - any database failure means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse(
            {"status": "unavailable", "database": "migrations pending"}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": "ok"})

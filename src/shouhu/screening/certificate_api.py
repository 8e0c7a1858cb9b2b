"""Checking a certificate, for anyone and without signing in: its page, its API, the public key."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.crypto.signing import public_key_pem
from shouhu.core.errors import NotFoundError
from shouhu.screening.certificates import display_code, verify_code
from shouhu.web.deps import PUBLIC, Db
from shouhu.web.templating import render

api = APIRouter(prefix="/certificates", tags=["certificates"], dependencies=[PUBLIC])
page = APIRouter(dependencies=[PUBLIC], include_in_schema=False)

Code = Annotated[str, Path(max_length=40, description="The code printed on the certificate")]
PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}


class VerificationOut(BaseModel):
    """Whether a certificate is genuine and still current; nothing about whom it concerns."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "7K3M-Q9TX-2D4F", "genuine": True, "current": True}]
        }
    )

    code: str
    genuine: bool = Field(description="Signed by Shouhu's key and unchanged since")
    current: bool = Field(description="Not superseded by a later answer (a re-check)")


class PublicKeyOut(BaseModel):
    """The key that signs certificates, for checking them offline."""

    key_id: str
    algorithm: str = "Ed25519"
    public_key_pem: str = Field(description="SubjectPublicKeyInfo, PEM")


# Open to anyone: the operations say so (an empty `security`), so generated clients send no token.
OPEN: Final[dict[str, Any]] = {"security": []}


@api.get("/public-key", response_model=PublicKeyOut, openapi_extra=OPEN)
def certificate_public_key() -> PublicKeyOut:
    """The public key: verify a certificate's signature over its canonical JSON document."""
    return PublicKeyOut(key_id=current_keyring().signing_key_id, public_key_pem=public_key_pem())


@api.get(
    "/{code}",
    response_model=VerificationOut,
    responses={
        404: {"description": "No certificate has this code", **PROBLEM},
        422: {"description": "Not a code (too long)", **PROBLEM},
    },
    openapi_extra=OPEN,
)
def certificate_check(db: Db, code: Code) -> VerificationOut:
    """Whether the code names a genuine certificate that is still current."""
    found = verify_code(db, code)
    if found is None:
        raise NotFoundError("No certificate has this code.")
    return VerificationOut(
        code=display_code(found.code), genuine=found.genuine, current=found.current
    )


@page.get("/verify/{code}")
def verify_page(request: Request, db: Db, code: Code) -> Response:
    """The page a QR code or a typed address opens: genuine and current, or not."""
    found = verify_code(db, code)
    return render(
        request,
        "screening/verify.html",
        {"found": found, "code": display_code(found.code) if found else code},
        status=200 if found else 404,
    )

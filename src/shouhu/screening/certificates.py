"""Signed certificates of inquiry answers: anyone can check one, offline or here.

Every final answer gets a certificate: an Ed25519 signature (the keyring's signing key) over a
canonical JSON document holding the certificate code, the institution, the candidate's masked
name (王*明), the purpose, the policy version, the answer and the time. No identity number and
no registry content. `GET /verify/{code}` and `GET /api/v1/certificates/{code}` say whether a
code names a genuine certificate and whether it is still current (a later answer to the same
inquiry, after a re-check, supersedes it); the public key is published for offline checks.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.crypto.signing import canonical_json, public_key_pem, sign, verify
from shouhu.core.database import utcnow
from shouhu.screening.models import Certificate, Inquiry

DOCUMENT_VERSION: Final = 1
# Crockford's base32 without the letters people misread (I, L, O, U): 12 characters, 60 bits.
CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH: Final = 12
_MISREAD: Final = str.maketrans("OIL", "011")


def new_code() -> str:
    """A random verification code, printed in groups of four (ABCD-EFGH-JKMN)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """The code as printed: three groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """A code as typed: without dashes and spaces, upper case, O read as 0, I and L as 1."""
    cleaned = "".join(text.split()).replace("-", "").upper()
    return cleaned.translate(_MISREAD)


def mask_name(name: str) -> str:
    """The name with all but its first and last characters hidden: 王小明 → 王*明, 张三 → 张*."""
    text = " ".join(name.split())
    if len(text) <= 1:
        return text
    if len(text) == 2:  # noqa: PLR2004 - a two-character name keeps its surname only
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


def issue_certificate(session: Session, inquiry: Inquiry) -> Certificate:
    """Sign the inquiry's final answer; an earlier certificate of it is superseded."""
    now = utcnow()
    session.execute(
        update(Certificate)
        .where(Certificate.inquiry_id == inquiry.id, Certificate.superseded_at.is_(None))
        .values(superseded_at=now)
    )
    institution = session.get_one(Organisation, inquiry.institution_id)
    certificate = new_certificate(inquiry, institution.name, now=now)
    session.add(certificate)
    session.flush()
    return certificate


def new_certificate(
    inquiry: Inquiry, institution_name: str, *, now: datetime | None = None
) -> Certificate:
    """A signed certificate of the inquiry's answer (not yet added to a session)."""
    now = now or utcnow()
    code = new_code()
    document = {
        "v": DOCUMENT_VERSION,
        "code": code,
        "institution": institution_name,
        "subject": mask_name((inquiry.subject or {}).get("name", "")),
        "purpose": inquiry.purpose,
        "policy_version": inquiry.policy_version,
        "answer": inquiry.answer,
        "issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return Certificate(
        code=code,
        inquiry_id=inquiry.id,
        document=canonical_json(document).decode(),
        signature=sign(document),
        key_id=current_keyring().signing_key_id,
        issued_at=now,
    )


def current_certificate(session: Session, inquiry_id: Any) -> Certificate | None:
    """The inquiry's certificate in force, if it has an answer."""
    return session.scalar(
        select(Certificate).where(
            Certificate.inquiry_id == inquiry_id, Certificate.superseded_at.is_(None)
        )
    )


_CERTIFICATES: Final = cast("Table", Certificate.__table__)
_CURRENT_CODE: Final = select(_CERTIFICATES.c.code).where(
    _CERTIFICATES.c.inquiry_id == bindparam("inquiry"), _CERTIFICATES.c.superseded_at.is_(None)
)


def current_code(session: Session, inquiry_id: Any) -> str | None:
    """The code of the inquiry's certificate in force (a statement built once: every answer)."""
    code = session.connection().scalar(_CURRENT_CODE, {"inquiry": inquiry_id})
    return str(code) if code is not None else None


@dataclass(frozen=True)
class Verification:
    """What a third party is told about a code: genuine, current, and nothing more."""

    code: str
    genuine: bool
    current: bool


def verify_code(session: Session, text: str) -> Verification | None:
    """Whether the code names a genuine certificate still in force (None: no such code)."""
    code = normalise_code(text)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    certificate = session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        return None
    document = json.loads(certificate.document)
    genuine = document.get("code") == code and verify(
        document, certificate.signature, public_key_pem()
    )
    return Verification(code, genuine, genuine and certificate.superseded_at is None)

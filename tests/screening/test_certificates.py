"""Signed certificates: every final answer has one, anyone can check it, a forgery fails."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.crypto.signing import public_key_pem, verify
from shouhu.core.settings import Settings
from shouhu.screening import certificates
from shouhu.screening.certificates import (
    display_code,
    issue_certificate,
    mask_name,
    normalise_code,
    verify_code,
)
from shouhu.screening.inquiries import submit_inquiry
from shouhu.screening.models import Certificate
from shouhu.web.app import create_app
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number
from tests.web.inquiry_page_cases import request_for

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王小明", "王*明"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("李", "李"),
        ("Olga Ivanova", "O**********a"),
    ],
)
def test_the_name_is_masked(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_a_code_is_read_as_people_type_it() -> None:
    code = certificates.new_code()
    assert len(code) == certificates.CODE_LENGTH
    assert normalise_code(display_code(code).lower()) == code
    assert normalise_code("oI1L-0000-0000") == "0111" + "0" * 8


@pytest.fixture
def answered(session: Session, tmp_path: Path) -> Certificate:
    university = make_org(session, org_type=OrgType.INSTITUTION, kind="university", name="示范大学")
    hr = principal_of(make_user(session, roles=(Role.INSTITUTION_HR,), org=university))
    number = prc_number("440106", date(1990, 1, 1), 111)
    inquiry = submit_inquiry(
        session,
        actor=hr,
        request=request_for(number, name="王小明"),
        settings=Settings(data_dir=tmp_path),
    )
    [certificate] = session.scalars(
        select(Certificate).where(Certificate.inquiry_id == inquiry.id)
    ).all()
    return certificate


def test_a_final_answer_is_signed_and_verifies_offline(session: Session, answered: Certificate):
    document = json.loads(answered.document)
    assert document == {
        "v": 1,
        "code": answered.code,
        "institution": "示范大学",
        "subject": "王*明",
        "purpose": "school_staff",
        "policy_version": 2,
        "answer": "no_record",
        "issued_at": document["issued_at"],
    }
    assert "110101" not in answered.document  # no identity number, only the masked name
    # A third party holds only the printed document, its signature and the public key.
    assert verify(document, answered.signature, public_key_pem())
    forged = {**document, "institution": "另一所学校"}
    assert not verify(forged, answered.signature, public_key_pem())
    found = verify_code(session, display_code(answered.code))
    assert found is not None
    assert (found.genuine, found.current) == (True, True)


def test_a_later_answer_supersedes_and_a_tampered_one_is_not_genuine(
    session: Session, answered: Certificate
):
    inquiry = answered.inquiry_id
    from shouhu.screening.models import Inquiry  # noqa: PLC0415

    newer = issue_certificate(session, session.get_one(Inquiry, inquiry))
    old = verify_code(session, answered.code)
    assert old is not None
    assert (old.genuine, old.current) == (True, False)
    new = verify_code(session, newer.code)
    assert new is not None
    assert (new.genuine, new.current) == (True, True)
    newer.document = newer.document.replace("no_record", "record_found")
    session.flush()
    tampered = verify_code(session, newer.code)
    assert tampered is not None
    assert (tampered.genuine, tampered.current) == (False, False)
    assert verify_code(session, "0000-0000-0000") is None
    assert verify_code(session, "not a code") is None


def test_anyone_checks_a_code_and_reads_the_public_key(
    session: Session,
    session_factory: sessionmaker[Session],
    migrated_engine: Engine,
    answered: Certificate,
    tmp_path: Path,
) -> None:
    session.commit()
    app = create_app(
        settings=Settings(env="test", data_dir=tmp_path, secure_cookies=True),
        sessions=session_factory,
        engine=migrated_engine,
    )
    with TestClient(app, base_url="https://testserver") as client:
        checked = client.get(f"/api/v1/certificates/{display_code(answered.code)}")
        assert checked.status_code == 200
        assert checked.json() == {
            "code": display_code(answered.code),
            "genuine": True,
            "current": True,
        }  # and nothing about whom it concerns
        assert client.get("/api/v1/certificates/0000-0000-0000").status_code == 404
        key = client.get("/api/v1/certificates/public-key").json()
        assert key["algorithm"] == "Ed25519"
        assert verify(json.loads(answered.document), answered.signature, key["public_key_pem"])
        page = client.get(f"/verify/{answered.code.lower()}")
        assert page.status_code == 200
        assert 'data-verdict="current"' in page.text
        assert "王" not in page.text.split("<main", 1)[1]
        assert client.get("/verify/0000-0000-0000").status_code == 404

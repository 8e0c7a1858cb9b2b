"""Batches over the JSON API: upload (multipart), progress, results CSV, the authority's
approval, the errors naming the field, and every route's rows of the authorisation matrix."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.batch_runner import BatchRunner
from shouhu.screening.models import InquiryBatch
from tests.factories.accounts import make_org, make_user
from tests.registry.test_api import audit_head, audit_since, problem_fields
from tests.screening import test_inquiry_api
from tests.screening.test_batches import MIXED, csv_bytes, strangers
from tests.screening.test_inquiry_api import Scene

if TYPE_CHECKING:
    from pathlib import Path

    from httpx import Response
    from sqlalchemy.orm import Session, sessionmaker

    from shouhu.accounts.models import User

API = "/api/v1/inquiry-batches"
# The inquiry API's scene (an authority, schools, a university); app and client: conftest.py.
scene = test_inquiry_api.scene


def form(**extra: str) -> dict[str, str]:
    signed = latest_possible_date() - timedelta(days=20)
    return {
        "purpose": "annual_recheck",
        "consent_reference": "年度复查同意书-2026",
        "consent_signed_on": signed.isoformat(),
        **extra,
    }


def upload(
    scene: Scene, who: str, content: bytes, name: str = "staff.csv", **extra: str
) -> Response:
    scene.call(who, "GET", "")  # makes the token
    headers = {"Authorization": f"Bearer {scene.tokens[who]}"}
    return scene.client.post(
        API, headers=headers, data=form(**extra), files={"file": (name, content, "text/csv")}
    )


def call(scene: Scene, who: str, method: str, path: str, json: Any = None) -> Response:
    scene.call(who, "GET", "")
    headers = {"Authorization": f"Bearer {scene.tokens[who]}"}
    return scene.client.request(method, f"{API}{path}", json=json, headers=headers)


def run(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    BatchRunner(session_factory, Settings(data_dir=tmp_path, batch_chunk_rows=2)).run_pending()


def test_a_batch_is_uploaded_followed_and_its_answers_read_as_csv(
    scene: Scene, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    start = audit_head(scene.session)
    created = upload(scene, "university_hr", csv_bytes(MIXED))
    assert created.status_code == 202, created.text
    assert set(created.json()) == {"id", "status", "rows_total"}
    assert (created.json()["status"], created.json()["rows_total"]) == ("queued", 5)
    path = f"/{created.json()['id']}"
    waiting = call(scene, "university_hr", "GET", path).json()
    assert (waiting["status"], waiting["rows_done"]) == ("queued", 0)
    run(session_factory, tmp_path)
    done = call(scene, "university_hr", "GET", path).json()
    assert (done["status"], done["rows_done"], done["rows_total"]) == ("completed", 5, 5)
    assert done["outcomes"] == {"record_found": 1, "no_record": 2, "invalid": 2}
    results = call(scene, "university_hr", "GET", f"{path}/results")
    assert results.status_code == 200
    assert results.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(results.text)))
    assert [(line["reference"], line["outcome"], line["field"]) for line in lines] == [
        ("A1", "record_found", ""),
        ("A2", "no_record", ""),
        ("A3", "invalid", "id_number"),
        ("A4", "no_record", ""),
        ("A5", "invalid", "name"),
    ]
    for secret in ("王小明", "child_molestation", "possible_match", "score"):
        assert secret not in results.text
    listed = call(scene, "university_hr", "GET", "").json()
    assert [batch["id"] for batch in listed] == [created.json()["id"]]
    actions = [a for a, _ in audit_since(scene.session, start) if "inquiry_batch" in a]
    assert actions == [
        "api:inquiry_batch:upload",
        "system:inquiry_batch:answer",
        "system:inquiry_batch:answer",
        "system:inquiry_batch:answer",
        "api:inquiry_batch:results",
    ]


def test_a_schools_batch_waits_and_only_its_authority_decides(
    scene: Scene, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    created = upload(scene, "school_hr", csv_bytes(strangers(3)))
    assert created.json()["status"] == "pending_approval"
    path = f"/{created.json()['id']}"
    assert call(scene, "school_hr", "POST", f"{path}/approve").status_code == 403
    assert call(scene, "other_officer", "POST", f"{path}/approve").status_code == 404
    assert call(scene, "other_school_hr", "GET", path).status_code == 404
    assert call(scene, "officer", "GET", path).status_code == 200
    approved = call(scene, "officer", "POST", f"{path}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "queued"
    assert call(scene, "officer", "POST", f"{path}/approve").status_code == 409
    run(session_factory, tmp_path)
    assert call(scene, "school_hr", "GET", path).json()["outcomes"] == {
        "no_record": 3,
        "invalid": 0,
    }
    other = upload(scene, "school_hr", csv_bytes(strangers(2, start=10)))
    other_path = f"/{other.json()['id']}"
    no_reason = call(scene, "officer", "POST", f"{other_path}/refuse", {"reason": ""})
    assert no_reason.status_code == 422
    refused = call(scene, "officer", "POST", f"{other_path}/refuse", {"reason": "不是应聘人员"})
    assert refused.json()["status"] == "refused"


def test_bad_uploads_are_refused_naming_the_field(scene: Scene) -> None:
    wrong_type = upload(scene, "university_hr", b"%PDF-1.7", name="staff.pdf")
    assert wrong_type.status_code == 422
    assert problem_fields(wrong_type) == {"file"}
    no_consent = upload(scene, "university_hr", csv_bytes(MIXED), consent_reference="")
    assert no_consent.status_code == 422
    assert "consent_reference" in problem_fields(no_consent)
    bad_header = upload(scene, "university_hr", b"name,salary\n")
    assert bad_header.status_code == 422
    assert "salary" in bad_header.text
    missing_file = scene.client.post(
        API, headers={"Authorization": f"Bearer {scene.tokens['university_hr']}"}, data=form()
    )
    assert missing_file.status_code == 422
    assert "file" in problem_fields(missing_file)
    assert scene.session.scalar(select(func.count()).select_from(InquiryBatch)) == 0


def test_a_file_over_the_limit_is_413(scene: Scene, app: Any) -> None:
    app.state.settings = app.state.settings.model_copy(update={"batch_max_bytes": 100})
    response = upload(scene, "university_hr", csv_bytes(strangers(20)))
    assert response.status_code == 413
    assert problem_fields(response) == {"file"}


# --- the authorisation matrix's rows ------------------------------------------------------------


def _batch(
    session: Session, institution: Organisation, *, status: str, authority_id: Any = None
) -> InquiryBatch:
    uploader = make_user(session, roles=(Role.INSTITUTION_HR,), org=institution)
    batch = InquiryBatch(
        institution_id=institution.id,
        authority_id=authority_id or institution.parent_id,
        uploaded_by_id=uploader.id,
        purpose="annual_recheck",
        consent_reference="同意书-1",
        consent_signed_on=latest_possible_date(),
        file_format="csv",
        file_bytes=10,
        status=status,
        rows_total=1,
    )
    batch.ensure_id()
    batch.content = csv_bytes(strangers(1))
    session.add(batch)
    session.flush()
    return batch


def own_batch(session: Session, user: User) -> dict[str, Any]:
    """A batch of the user's own organisation."""
    org = session.get_one(Organisation, user.organisation_id)
    return {"batch_id": _batch(session, org, status="completed").id}


def foreign_batch(session: Session, _user: User) -> dict[str, Any]:
    """A batch of another institution."""
    org = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
    return {"batch_id": _batch(session, org, status="completed").id}


def awaiting_own_authority(session: Session, user: User) -> dict[str, Any]:
    """A school's batch waiting for the user's authority."""
    authority = session.get_one(Organisation, user.organisation_id)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
    return {"batch_id": _batch(session, school, status="pending_approval").id}


UPLOAD_FILES = {"file": ("staff.csv", csv_bytes(strangers(2, start=40)), "text/csv")}


def batch_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`."""
    submit, approve = Permission.INQUIRY_SUBMIT, Permission.INQUIRY_APPROVE
    return [
        case("POST", API, submit, form=form(), files=UPLOAD_FILES, ok=(202,)),
        case("GET", API, submit),
        case("GET", f"{API}/{{batch_id}}", submit, own_batch, foreign=foreign_batch),
        case("GET", f"{API}/{{batch_id}}/results", submit, own_batch, foreign=foreign_batch),
        case("POST", f"{API}/{{batch_id}}/approve", approve, awaiting_own_authority),
        case(
            "POST",
            f"{API}/{{batch_id}}/refuse",
            approve,
            awaiting_own_authority,
            json={"reason": "不是应聘人员名单。"},
        ),
    ]

"""The evidence API over HTTP: streamed upload and verified download, a tampered file refused
with an alert raised, the custody log with its mandatory reason and its check, 404 to outsiders."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceAlert
from shouhu.onestop.models import OneStopCase
from tests.factories.accounts import api_token
from tests.factories.evidence import record_item
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.evidence_helpers import flip_bit

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

CASES = "/api/v1/onestop/cases"
ITEM = {
    "kind": "interview_recording",
    "description": "儿童 A 的询问录像。",
    "place": "一站式取证中心询问室",
    "holder": "区公安分局物证室",
    "reason": "询问结束后固定证据。",
}


def _auth(session: Session, user: User) -> dict[str, str]:
    token = api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _case(session: Session, cast: Cast) -> OneStopCase:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.forensic, "forensic")
    join(session, case, cast.prosecutor, "prosecutor")
    return case


def _pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _store(app: FastAPI) -> BlobStore:
    return BlobStore(app.state.settings.data_dir / "evidence")


# --- items --------------------------------------------------------------------------------------


def test_an_item_is_recorded_read_and_hidden_from_outsiders(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    forensic = _auth(session, cast.forensic)
    start = head(session)
    answer = client.post(f"{CASES}/{case.id}/evidence", json=ITEM, headers=forensic)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["number"] == 1
    assert body["holder"] == ITEM["holder"]
    assert [e["event"] for e in body["custody"]] == ["collected"]
    assert body["file"] is None
    assert events_since(session, start) == [("api:onestop:evidence_add", "evidence_item")]
    url = f"{CASES}/{case.id}/evidence/{body['id']}"
    read = client.get(url, headers=_auth(session, cast.prosecutor))
    assert read.status_code == 200
    assert read.json()["description"] == ITEM["description"]
    for outsider in (cast.second_officer, cast.other_officer):
        headers = _auth(session, outsider)
        assert client.get(url, headers=headers).status_code == 404
        assert client.get(f"{CASES}/{case.id}/evidence", headers=headers).status_code == 404
        assert client.put(url + "/file", content=b"x", headers=headers).status_code in {403, 404}


def test_an_item_without_a_reason_is_a_problem_naming_the_field(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    answer = client.post(
        f"{CASES}/{case.id}/evidence",
        json={**ITEM, "reason": "  "},
        headers=_auth(session, cast.forensic),
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "reason"


# --- files --------------------------------------------------------------------------------------


def test_a_file_streams_up_and_down_with_its_sha256(
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    case = _case(session, cast)
    item = record_item(session, cast.forensic, case)
    session.commit()
    data = bytes(range(256)) * 12_289  # about 3 MiB: several segments, a short last one
    headers = _auth(session, cast.forensic)
    reader = _auth(session, cast.prosecutor)
    start = head(session)
    url = f"{CASES}/{case.id}/evidence/{item.id}/file"
    answer = client.put(
        url,
        params={"filename": "询问录像.mp4"},
        content=_pieces(data),  # sent chunked, as a browser's stream would be
        headers={**headers, "Content-Type": "video/mp4"},
    )
    assert answer.status_code == 200, answer.text
    stored = answer.json()["file"]
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert (stored["size"], stored["filename"]) == (len(data), "询问录像.mp4")
    assert client.put(url, content=b"again", headers=headers).status_code == 409
    with client.stream("GET", url, headers=reader) as download:
        assert download.status_code == 200
        received = b"".join(download.iter_bytes())
        assert download.headers["cache-control"] == "no-store"
        assert "filename*=UTF-8''" in download.headers["content-disposition"]
    assert received == data
    assert events_since(session, start) == [
        ("api:onestop:evidence_upload", "evidence_item"),
        ("api:onestop:evidence_download", "evidence_item"),
    ]
    assert _store(app).verify(stored["sha256"])


def test_a_file_over_the_limit_is_refused_before_it_is_stored(
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"evidence_max_bytes": 1000})
    case = _case(session, cast)
    item = record_item(session, cast.forensic, case)
    session.commit()
    answer = client.put(
        f"{CASES}/{case.id}/evidence/{item.id}/file",
        content=_pieces(b"x" * 5000, 700),
        headers=_auth(session, cast.forensic),
    )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["field"] == "file"
    assert list(_store(app).stored()) == []


def test_a_tampered_file_is_blocked_and_raises_an_alert_the_lead_acknowledges(
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    case = _case(session, cast)
    item = record_item(session, cast.forensic, case)
    session.commit()
    url = f"{CASES}/{case.id}/evidence/{item.id}/file"
    forensic = _auth(session, cast.forensic)
    stored = client.put(url, content=b"RECORDED-BYTES " * 50_000, headers=forensic).json()["file"]
    flip_bit(_store(app).path_for(stored["sha256"]), 5000)
    prosecutor = _auth(session, cast.prosecutor)
    start = head(session)
    answer = client.get(url, headers=prosecutor)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"].endswith("/evidence_integrity_failure")
    assert "警报" in problem["detail"]  # the alert, in the default language
    assert b"RECORDED-BYTES" not in answer.content
    # The refusal's transaction committed the alert and its audit events.
    session.expire_all()
    assert events_since(session, start) == [
        ("api:onestop:evidence_alert", "evidence_item"),
        ("api:onestop:evidence_download", "evidence_item"),
    ]
    officer = _auth(session, cast.officer)
    (alert,) = client.get(f"{CASES}/{case.id}/alerts", headers=officer).json()
    assert (alert["item_id"], alert["details"]["damage"]) == (str(item.id), "segment")
    ack = f"{CASES}/{case.id}/alerts/{alert['id']}/acknowledge"
    assert client.post(ack, headers=forensic).status_code == 403  # not a case officer
    done = client.post(ack, headers=officer)
    assert done.status_code == 200
    assert done.json()["acknowledged_by_id"] == str(cast.officer.id)
    alerts = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    assert [a.acknowledged_at is not None for a in alerts] == [True]


# --- the custody log ----------------------------------------------------------------------------


def test_custody_needs_a_reason_and_an_altered_entry_is_detected(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    item = record_item(session, cast.forensic, case)
    session.commit()
    headers = _auth(session, cast.forensic)
    url = f"{CASES}/{case.id}/evidence/{item.id}/custody"
    move = {"event": "transferred", "place": "物证室", "to_holder": "市局鉴定中心"}
    refused = client.post(url, json={**move, "reason": ""}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    moved = client.post(url, json={**move, "reason": "送检。"}, headers=headers)
    assert moved.status_code == 201
    assert moved.json()["holder"] == "市局鉴定中心"
    assert client.post(url + "/verify", headers=headers).json() == {
        "intact": True,
        "entries": 2,
        "breaks": [],
    }
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == item.id, CustodyRecord.seq == 1)
        .values(reason="没有理由")
    )
    session.commit()
    checked = client.post(url + "/verify", headers=headers).json()
    assert checked["intact"] is False
    assert [(b["seq"], b["reason"]) for b in checked["breaks"]] == [(1, "hash_mismatch")]


def test_an_unknown_item_is_404(session: Session, cast: Cast, client: TestClient) -> None:
    case = _case(session, cast)
    headers = _auth(session, cast.forensic)
    missing = f"{CASES}/{case.id}/evidence/{uuid.uuid4()}"
    assert client.get(missing, headers=headers).status_code == 404
    assert client.get(missing + "/file", headers=headers).status_code == 404

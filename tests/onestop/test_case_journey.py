"""A case from intake to closure over the API, as its team works it, with the issue's refusals
met on the way: an outsider's 404, a second interview without approval, a tampered file, and a
custody log with one entry altered. The audit chain holds at the end."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from shouhu.core.audit.verify import verify_chain
from shouhu.core.database import utcnow
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence_models import CustodyRecord
from tests.factories.accounts import api_token
from tests.factories.onestop import CHILD_NUMBER, SUSPECT_NUMBER
from tests.onestop.evidence_helpers import flip_bit

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User
    from tests.factories.onestop import Cast

CASES = "/api/v1/onestop/cases"


class Desk:
    """The API as one user calls it: each call must answer what the step expects."""

    def __init__(self, client: TestClient, session: Session, user: User) -> None:
        self.client = client
        token = api_token(session, user)
        session.commit()
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, url: str, expect: int, **kwargs: Any) -> Any:
        """Send one request and insist on its status; the JSON body (or bytes) is returned."""
        answer = self.client.request(method, url, headers=self.headers, **kwargs)
        assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text}"
        if answer.headers.get("content-type", "").startswith(("application/json", "application/p")):
            return answer.json()
        return answer.content


def _at(hours: float) -> str:
    """A time `hours` after the case was received (three hours ago), as ISO 8601."""
    return (utcnow() - timedelta(hours=3) + timedelta(hours=hours)).isoformat()


def _intake(cast: Cast) -> dict[str, Any]:
    return {
        "received_at": _at(0),
        "channel": "mandatory_report_school",
        "offence": "child_molestation",
        "place": "某小学附近",
        "jurisdiction": "110101",
        "site_id": str(cast.site.id),
        "children": [
            {
                "name": "张小雨",
                "sex": "F",
                "id_type": "prc_id",
                "id_number": CHILD_NUMBER,
                "guardian_name": "张伟",
                "guardian_relationship": "父亲",
            }
        ],
        "suspects": [{"name": "刘某", "id_type": "prc_id", "id_number": SUSPECT_NUMBER}],
    }


def test_a_case_goes_from_intake_to_closure_and_every_refusal_holds(  # noqa: PLR0915 - one journey
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    officer = Desk(client, session, cast.officer)
    forensic = Desk(client, session, cast.forensic)
    prosecutor = Desk(client, session, cast.prosecutor)
    support = Desk(client, session, cast.support)
    outsider = Desk(client, session, cast.second_officer)

    # Intake: the officer receives the case and becomes its lead; the child is a pseudonym.
    case = officer.call("POST", CASES, 201, json=_intake(cast))
    url = f"{CASES}/{case['id']}"
    assert case["status"] == "received"
    child = case["child_victims"][0]
    assert "张小雨" not in str(case)
    outsider.call("GET", url, 404)

    # The team: forensics, the prosecutor and the site's partner worker.
    for user, role in (
        (cast.forensic, "forensic"),
        (cast.prosecutor, "prosecutor"),
        (cast.support, "support"),
    ):
        team = officer.call(
            "POST", url + "/members", 201, json={"user_id": str(user.id), "role": role}
        )
    members = {m["username"]: m["id"] for m in team}

    # The joint session: scheduling moves the case on; every required agency arrives.
    joint = officer.call("POST", url + "/sessions", 201, json={"scheduled_for": _at(2)})
    assert officer.call("GET", url, 200)["status"] == "joint_session_scheduled"
    required = joint["required"]
    assert {"criminal_investigation", "forensics", "procuratorate", "guardian"} <= set(required)
    arrivals = url + f"/sessions/{joint['id']}/arrivals"
    by_agency = {
        "criminal_investigation": members[cast.officer.username],
        "forensics": members[cast.forensic.username],
        "procuratorate": members[cast.prosecutor.username],
    }
    for number, agency in enumerate(required):
        body: dict[str, Any] = {"agency": agency, "arrived_at": _at(2 + number / 60)}
        if agency == "guardian":
            body["person_name"] = "张伟"
        else:  # the partner's worker stands for each partner agency the session needs
            body["member_id"] = by_agency.get(agency, members[cast.support.username])
        attendance = officer.call("POST", arrivals, 201, json=body)
    assert attendance["missing"] == []
    assert attendance["flagged"] is False
    assert set(attendance["together"]["agencies"]) == set(required)

    # The single interview: a second is refused until a prosecutor approves it in writing.
    interview = {
        "child_id": child["id"],
        "interviewer_id": members[cast.officer.username],
        "session_id": joint["id"],
        "started_at": _at(2.2),
        "ended_at": _at(2.6),
        "recorded": True,
    }
    officer.call("POST", url + "/interviews", 201, json=interview)
    refused = officer.call("POST", url + "/interviews", 409, json=interview)
    assert refused["errors"][0]["field"] == "child_id"
    assert "检察官" in refused["detail"]  # the message says who may allow a second one
    officer.call(
        "POST",
        url + "/interviews/second-approvals",
        403,
        json={"child_id": child["id"], "reason": "补充询问。"},
    )
    prosecutor.call(
        "POST",
        url + "/interviews/second-approvals",
        201,
        json={"child_id": child["id"], "reason": "首次询问录像未能保存，同意补充询问一次。"},
    )
    officer.call(
        "POST",
        url + "/interviews",
        201,
        json={**interview, "started_at": _at(2.8), "ended_at": _at(2.9)},
    )
    counts = officer.call("GET", url + "/interviews", 200)
    assert len(counts["interviews"]) == 2

    # Evidence: an item, its file streamed up and back, a custody transfer with its reason.
    item = forensic.call(
        "POST",
        url + "/evidence",
        201,
        json={
            "kind": "interview_recording",
            "description": "儿童 A 的询问录像。",
            "place": "一站式取证中心询问室",
            "holder": "区公安分局物证室",
            "reason": "询问结束后固定证据。",
        },
    )
    item_url = f"{url}/evidence/{item['id']}"
    recording = bytes(range(256)) * 4096
    stored = forensic.call(
        "PUT", item_url + "/file", 200, params={"filename": "询问.mp4"}, content=recording
    )
    assert stored["file"]["sha256"] == hashlib.sha256(recording).hexdigest()
    assert prosecutor.call("GET", item_url + "/file", 200) == recording
    transfer = {"event": "transferred", "place": "区公安分局物证室", "to_holder": "市局鉴定中心"}
    blank = forensic.call("POST", item_url + "/custody", 422, json={**transfer, "reason": " "})
    assert [e["field"] for e in blank["errors"]] == ["reason"]
    forensic.call("POST", item_url + "/custody", 201, json={**transfer, "reason": "送检。"})
    assert forensic.call("POST", item_url + "/custody/verify", 200)["intact"] is True
    officer.call("GET", item_url, 200)
    outsider.call("GET", item_url, 404)

    # Services: a referral the partner's worker accepts, starts and completes.
    referral = officer.call(
        "POST",
        url + "/referrals",
        201,
        json={
            "child_id": child["id"],
            "service": "psychological",
            "organisation_id": str(cast.womens_federation.id),
            "assigned_to_id": str(cast.support.id),
        },
    )
    task = f"/api/v1/onestop/referrals/{referral['id']}"
    assert [t["id"] for t in support.call("GET", "/api/v1/onestop/my-tasks", 200)] == [
        referral["id"]
    ]
    for status in ("accepted", "in_progress", "completed"):
        support.call("POST", task + "/status", 200, json={"status": status})
    support.call("POST", task + "/notes", 201, json={"body": "心理评估已完成。"})
    # The worker's task names the child's pseudonym, never the case or the child's identity.
    seen = support.call("GET", task, 200)
    assert seen["case_id"] is None
    assert "张小雨" not in str(seen)

    # The case moves on to judgement and closes, each step by the lead officer.
    for status in ("evidence_collected", "under_investigation", "prosecuted", "judged"):
        officer.call("POST", url + "/status", 200, json={"status": status})
    # The conviction goes to the registry as a draft, which its clerks and reviewers take on.
    suspect = case["suspects"][0]
    handoff = url + f"/suspects/{suspect['id']}/registry-handoff"
    judgment = {
        "decision_authority": "北京市东城区人民法院",
        "decision_number": "(2026)京0101刑初456号",
        "decision_date": (utcnow() - timedelta(days=1)).date().isoformat(),
        "sentence_months": 30,
    }
    prosecutor.call("POST", handoff, 403, json=judgment)
    officer.call("POST", handoff, 201, json=judgment)
    officer.call("POST", handoff, 409, json=judgment)
    (sent,) = officer.call("GET", url + "/registry-handoffs", 200)
    assert sent["record_status"] == "draft"
    officer.call("POST", url + "/status", 422, json={"status": "closed"})
    closed = officer.call(
        "POST", url + "/status", 200, json={"status": "closed", "reason": "判决生效，结案。"}
    )
    assert closed["status"] == "closed"

    # Tampering after the fact: a flipped bit in the stored file blocks the download and raises
    # an alert; an altered custody entry is found by the log's check.
    store = BlobStore(app.state.settings.data_dir / "evidence")
    flip_bit(store.path_for(stored["file"]["sha256"]), offset=4096)
    prosecutor.call("GET", item_url + "/file", 409)
    alerts = officer.call("GET", url + "/alerts", 200)
    assert [a["kind"] for a in alerts] == ["file_integrity"]
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == uuid.UUID(item["id"]), CustodyRecord.seq == 1)
        .values(reason="改过的理由")
    )
    session.commit()
    assert forensic.call("POST", item_url + "/custody/verify", 200)["intact"] is False

    # Every step above was audited, and the audit chain is whole.
    assert verify_chain(session).intact

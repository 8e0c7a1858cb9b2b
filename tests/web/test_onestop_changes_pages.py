"""The pages of rescheduling and cancelling a joint session and of reassigning and withdrawing a
referral, in both languages; and the home page's due-soon line said with its window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update

from shouhu.accounts.roles import Role
from shouhu.core.database import utcnow
from shouhu.onestop import joint_sessions, repository
from shouhu.onestop.deadlines import DUE_SOON_HOURS
from shouhu.onestop.evidence_models import CustodyRecord
from tests.factories.accounts import make_user
from tests.factories.evidence import record_item
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import attach, make_cast, open_case, refer
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _local(moment_hours_ahead: float) -> str:
    moment = utcnow() + timedelta(hours=8 + moment_hours_ahead)
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_the_session_page_reschedules_then_cancels_with_reasons(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    joint = joint_sessions.schedule_session(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        site_id=None,
        scheduled_for=utcnow() + timedelta(days=1),
    )
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    path = f"/onestop/cases/{case.id}/sessions/{joint.id}"
    page = client.get(path, headers=ZH).text
    assert 'data-testid="reschedule-form"' in page
    assert "改期或取消" in page
    # No reason: the form comes back with the error beside the reason, in Chinese.
    refused = client.post(
        path + "/reschedule",
        data={"csrf_token": csrf, "rs_for": _local(48), "rs_reason": ""},
        headers=ZH,
    )
    assert refused.status_code == 422
    assert 'data-testid="error-rs_reason"' in refused.text
    assert "“理由”为必填项。" in refused.text
    moved = client.post(
        path + "/reschedule",
        data={"csrf_token": csrf, "rs_for": _local(48), "rs_reason": "监护人因病无法到场。"},
    )
    assert moved.status_code == 303
    page = client.get(path, headers=EN).text
    assert 'data-testid="session-change" data-kind="reschedule"' in page
    assert "监护人因病无法到场。" in page  # the team reads the reason on the record
    cancelled = client.post(path + "/cancel", data={"csrf_token": csrf, "cx_reason": "另行安排。"})
    assert cancelled.status_code == 303
    page = client.get(path, headers=ZH).text
    assert 'data-testid="session-cancelled"' in page
    assert "已取消" in page
    assert 'data-testid="arrival-form"' not in page
    assert 'data-testid="cancel-form"' not in page
    case_page = client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert 'data-cancelled="true"' in case_page


def test_the_session_page_refuses_a_cancellation_after_an_arrival_saying_what_to_do(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    officer = principal_of(cast.officer)
    joint = joint_sessions.schedule_session(
        session,
        actor=officer,
        case_id=case.id,
        site_id=None,
        scheduled_for=utcnow() - timedelta(hours=1),
    )
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    path = f"/onestop/cases/{case.id}/sessions/{joint.id}"
    assert 'data-testid="cancel-form"' in client.get(path).text
    (lead_id,) = [m.id for m, _u in repository.team(session, case.id)]
    joint_sessions.record_arrival(
        session,
        actor=officer,
        case_id=case.id,
        session_id=joint.id,
        agency="criminal_investigation",
        member_id=lead_id,
        arrived_at=utcnow() - timedelta(minutes=30),
    )
    session.commit()
    assert 'data-testid="cancel-form"' not in client.get(path).text
    # A form sent from a page loaded before the arrival: 409, and what to do instead.
    refused = client.post(path + "/cancel", data={"csrf_token": csrf, "cx_reason": "x"}, headers=ZH)
    assert refused.status_code == 409
    assert 'data-testid="form-error"' in refused.text
    assert "请改为登记离场" in refused.text


def test_the_referral_page_reassigns_and_the_worker_who_lost_it_gets_404(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    colleague = make_user(session, roles=(Role.SUPPORT_WORKER,), org=cast.womens_federation)
    attach(session, cast.site, cast.hospital)
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    session.commit()
    officer, _, csrf = signed_in(user=cast.officer)
    worker, _, _ = signed_in(user=cast.support)
    path = f"/onestop/referrals/{referral.id}"
    assert worker.get(path).status_code == 200
    page = officer.get(path, headers=ZH).text
    assert 'data-testid="reassign-form"' in page
    assert "改派或撤回" in page
    same = officer.post(
        path + "/reassign",
        data={
            "csrf_token": csrf,
            "ra_organisation_id": str(cast.womens_federation.id),
            "ra_reason": "换人",
        },
        headers=ZH,
    )
    assert same.status_code == 422
    assert 'data-testid="error-ra_assigned_to_id"' in same.text
    moved = officer.post(
        path + "/reassign",
        data={
            "csrf_token": csrf,
            "ra_organisation_id": str(cast.womens_federation.id),
            "ra_assigned_to_id": str(colleague.id),
            "ra_reason": "原承办人休假。",
        },
    )
    assert moved.status_code == 303
    assert worker.get(path).status_code == 404
    assert path not in worker.get("/onestop/my-tasks").text
    withdrawn = officer.post(
        path + "/withdraw", data={"csrf_token": csrf, "wd_reason": "已自行安排。"}
    )
    assert withdrawn.status_code == 303
    page = officer.get(path, headers=ZH).text
    assert 'data-status="withdrawn"' in page
    assert "已撤回" in page
    assert 'data-testid="withdraw-form"' not in page


def test_the_home_page_says_the_due_soon_window_in_the_readers_language(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    # Received 20 hours ago: the joint session is due within the window, not yet late.
    case.received_at = utcnow() - timedelta(hours=20)
    session.commit()
    client, _, _ = signed_in(user=cast.officer)
    assert f"{DUE_SOON_HOURS} 小时内到期：1" in client.get("/", headers=ZH).text
    assert f"Due within {DUE_SOON_HOURS} hours: 1" in client.get("/", headers=EN).text


def test_a_broken_custody_log_is_explained_in_the_readers_language(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    item = record_item(session, cast.officer, case, kind="clothing")
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == item.id, CustodyRecord.seq == 1)
        .values(place="别处")
    )
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    url = f"/onestop/cases/{case.id}/evidence/{item.id}/custody/verify"
    zh = client.post(url, data={"csrf_token": csrf}, headers=ZH).text
    assert 'data-reason="hash_mismatch"' in zh
    assert "写入后被修改" in zh
    assert "hash does not match" not in zh  # the English diagnostic stays out of the page
    en = client.post(url, data={"csrf_token": csrf}, headers=EN).text
    assert "it was changed after it was written" in en

"""The evidence pages over HTTP: the case page's evidence and alerts, recording an item, the
streamed upload form, a tampered file's download refused with an alert the lead acknowledges,
the custody form's mandatory reason and the "verify" action finding an altered entry."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from shouhu.accounts.roles import Role
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceAlert, EvidenceItem
from tests.factories.evidence import record_item
from tests.factories.onestop import join, make_cast, open_case
from tests.onestop.evidence_helpers import flip_bit
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import OneStopCase

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _setup(
    session: Session, signed_in: Signer
) -> tuple[OneStopCase, SignedInClient, SignedInClient]:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.forensic, "forensic")
    session.commit()
    return case, signed_in(user=cast.officer), signed_in(user=cast.forensic)


def test_recording_an_item_uploading_its_file_and_downloading_it(
    session: Session, signed_in: Signer
) -> None:
    case, _, (client, _, csrf) = _setup(session, signed_in)
    form = client.get(f"/onestop/cases/{case.id}/evidence/new", headers=ZH)
    assert form.status_code == 200
    assert "证据" in form.text
    values = {
        "csrf_token": csrf,
        "kind": "interview_recording",
        "description": "询问录像。",
        "place": "询问室",
        "holder": "物证室",
        "reason": "",
    }
    refused = client.post(f"/onestop/cases/{case.id}/evidence", data=values, headers=EN)
    assert refused.status_code == 422
    assert 'data-testid="error-reason"' in refused.text
    made = client.post(
        f"/onestop/cases/{case.id}/evidence", data={**values, "reason": "固定证据。"}
    )
    assert made.status_code == 303
    item_url = made.headers["location"]
    page = client.get(item_url, headers=EN)
    assert 'data-testid="upload-form"' in page.text
    data = b"\x00RECORDING" * 300_000  # 3 MB
    uploaded = client.post(
        item_url + "/file",
        data={"csrf_token": csrf},
        files={"file": ("询问录像.mp4", data, "video/mp4")},
    )
    assert uploaded.status_code == 303, uploaded.text
    page = client.get(item_url, headers=EN)
    assert 'data-testid="download"' in page.text
    download = client.get(item_url + "/file")
    assert download.status_code == 200
    assert download.content == data
    case_page = client.get(f"/onestop/cases/{case.id}", headers=ZH)
    assert case_page.text.count('data-testid="evidence-item"') == 1


def test_an_upload_without_the_forms_token_is_refused_and_not_attached(
    session: Session, signed_in: Signer, app: FastAPI
) -> None:
    case, _, (client, user, _) = _setup(session, signed_in)
    item = record_item(session, user, case)
    session.commit()
    url = f"/onestop/cases/{case.id}/evidence/{item.id}/file"
    refused = client.post(
        url, data={"csrf_token": "forged"}, files={"file": ("a", b"x", "text/plain")}
    )
    assert refused.status_code == 403
    session.expire_all()
    assert session.get_one(EvidenceItem, item.id).file_sha256 is None
    assert list(BlobStore(app.state.settings.data_dir / "evidence").stored()) == []


def test_a_tampered_file_is_refused_with_an_alert_on_the_case_page(
    session: Session, signed_in: Signer, app: FastAPI
) -> None:
    case, (lead, _, _), (client, user, csrf) = _setup(session, signed_in)
    item = record_item(session, user, case)
    session.commit()
    url = f"/onestop/cases/{case.id}/evidence/{item.id}"
    client.post(
        url + "/file",
        data={"csrf_token": csrf},
        files={"file": ("r.bin", b"R" * 200_000, "application/octet-stream")},
    )
    session.expire_all()
    sha = session.get_one(EvidenceItem, item.id).file_sha256
    assert sha is not None
    flip_bit(BlobStore(app.state.settings.data_dir / "evidence").path_for(sha), 1000)
    blocked = client.get(url + "/file", headers=EN)
    assert blocked.status_code == 409
    assert "integrity check" in blocked.text
    assert "lead officer" in blocked.text
    assert b"RRRR" not in blocked.content
    session.expire_all()
    (alert,) = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    # The team sees it; only the lead may acknowledge it.
    shown = client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert 'data-testid="evidence-alert" data-acknowledged="no"' in shown
    assert "part of the file was altered" in shown
    assert 'data-testid="acknowledge-alert"' not in shown
    lead_page = lead.get(f"/onestop/cases/{case.id}", headers=ZH).text
    assert 'data-testid="acknowledge-alert"' in lead_page
    token = re.search(r'name="csrf_token" value="([^"]+)"', lead_page)
    assert token is not None
    done = lead.post(
        f"/onestop/cases/{case.id}/alerts/{alert.id}/acknowledge",
        data={"csrf_token": token.group(1)},
    )
    assert done.status_code == 303
    shown = client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert 'data-acknowledged="yes"' in shown


def test_the_custody_form_needs_a_reason_and_verify_finds_an_altered_entry(
    session: Session, signed_in: Signer
) -> None:
    case, _, (client, user, csrf) = _setup(session, signed_in)
    item = record_item(session, user, case, kind="clothing")
    session.commit()
    url = f"/onestop/cases/{case.id}/evidence/{item.id}"
    move = {"csrf_token": csrf, "event": "transferred", "place": "物证室", "to_holder": "鉴定中心"}
    refused = client.post(url + "/custody", data={**move, "reason": " "}, headers=EN)
    assert refused.status_code == 422
    assert 'data-testid="error-reason"' in refused.text
    assert client.post(url + "/custody", data={**move, "reason": "送检。"}).status_code == 303
    intact = client.post(url + "/custody/verify", data={"csrf_token": csrf}, headers=ZH)
    assert 'data-testid="custody-intact"' in intact.text
    assert intact.text.count('data-testid="custody-entry"') == 2
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == item.id, CustodyRecord.seq == 2)
        .values(place="别处")
    )
    session.commit()
    broken = client.post(url + "/custody/verify", data={"csrf_token": csrf}, headers=EN)
    assert 'data-testid="custody-broken"' in broken.text
    assert 'data-reason="hash_mismatch"' in broken.text


def test_an_outsider_gets_404_on_every_evidence_page(session: Session, signed_in: Signer) -> None:
    case, _, (_, user, _) = _setup(session, signed_in)
    item = record_item(session, user, case)
    session.commit()
    outsider, _, csrf = signed_in(Role.CASE_OFFICER)
    base = f"/onestop/cases/{case.id}/evidence"
    assert outsider.get(f"{base}/{item.id}").status_code == 404
    assert outsider.get(f"{base}/{item.id}/file").status_code == 404
    assert outsider.get(f"{base}/new").status_code == 404
    verify = outsider.post(f"{base}/{item.id}/custody/verify", data={"csrf_token": csrf})
    assert verify.status_code == 404


def test_the_lead_exports_from_the_case_page_and_a_tampered_file_stops_it_with_a_translated_error(
    session: Session, signed_in: Signer, app: FastAPI
) -> None:
    case, (lead, _, _), (client, user, csrf) = _setup(session, signed_in)
    item = record_item(session, user, case)
    session.commit()
    url = f"/onestop/cases/{case.id}/evidence/{item.id}"
    data = b"R" * 200_000
    client.post(
        url + "/file",
        data={"csrf_token": csrf},
        files={"file": ("r.bin", data, "application/octet-stream")},
    )
    # The lead hands evidence on; the forensic examiner, who handles it, does not.
    export = f"/onestop/cases/{case.id}/evidence/export"
    assert f'href="{export}"' in lead.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert f'href="{export}"' not in client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert client.get(export).status_code == 403
    archive = lead.get(export)
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        (name,) = [n for n in opened.namelist() if n.startswith("files/")]
        assert opened.read(name) == data
    session.expire_all()
    sha = session.get_one(EvidenceItem, item.id).file_sha256
    assert sha is not None
    flip_bit(BlobStore(app.state.settings.data_dir / "evidence").path_for(sha), 1000)
    blocked = lead.get(export, headers=ZH)
    assert blocked.status_code == 409
    assert "导出已中止" in blocked.text
    assert "E-1" in blocked.text
    assert b"RRRR" not in blocked.content
    blocked_en = lead.get(export, headers=EN)
    assert "The export was stopped" in blocked_en.text
    shown = lead.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert shown.count('data-testid="evidence-alert" data-acknowledged="no"') == 2


def test_the_form_asks_a_medical_report_where_the_examination_was_done(
    session: Session, signed_in: Signer
) -> None:
    case, _, (client, _, csrf) = _setup(session, signed_in)
    values = {
        "csrf_token": csrf,
        "kind": "medical_report",
        "description": "体检报告。",
        "place": "医学检查室",
        "holder": "物证室",
        "reason": "固定证据。",
    }
    refused = client.post(f"/onestop/cases/{case.id}/evidence", data=values, headers=EN)
    assert refused.status_code == 422
    assert 'data-testid="error-examined_on_site"' in refused.text
    made = client.post(
        f"/onestop/cases/{case.id}/evidence", data={**values, "examined_on_site": "yes"}
    )
    assert made.status_code == 303
    page = client.get(made.headers["location"], headers=EN).text
    assert re.search(r'data-testid="examined-on-site">Yes<', page)
    # Another kind ignores a stray answer: it records nothing about an examination.
    other = client.post(
        f"/onestop/cases/{case.id}/evidence",
        data={**values, "kind": "clothing", "examined_on_site": "no"},
    )
    assert other.status_code == 303
    assert 'data-testid="examined-on-site"' not in client.get(other.headers["location"]).text

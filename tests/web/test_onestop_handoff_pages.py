"""The hand-off pages over HTTP: the case page's column, the form with its field errors in both
languages, the 409 pages, and the registry clerk's Submissions list naming the new source."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from shouhu.onestop import repository
from shouhu.onestop.models import CaseStatus, OneStopCase
from shouhu.registry.models import RegistryRecord
from tests.factories.onestop import SUSPECT_NUMBER, make_cast, move_to, open_case
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _form(csrf: str, **overrides: str) -> dict[str, Any]:
    form = {
        "csrf_token": csrf,
        "decision_authority": "北京市东城区人民法院",
        "decision_number": "(2026)京0101刑初456号",
        "decision_date": "2026-10-15",
        "offence": "child_molestation",
        "offence_date": "2026-03-02",
        "sentence_months": "30",
        "sex": "M",
        "date_of_birth": "1980-05-17",
        "nationality": "CHN",
    }
    form.update(overrides)
    return form


def _path(session: Session, case: OneStopCase) -> str:
    (suspect,) = repository.suspects_of(session, case.id)
    return f"/onestop/cases/{case.id}/suspects/{suspect.id}/registry-handoff"


def test_the_officer_sends_a_judged_cases_suspect_and_the_case_page_shows_its_status(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    client, _, csrf = signed_in(user=cast.officer)
    case_path = f"/onestop/cases/{case.id}"
    # Not judged yet: no link, and the form is a conflict page.
    session.commit()
    assert 'data-testid="handoff-link-0"' not in client.get(case_path, headers=EN).text
    early = client.get(_path(session, case), headers=ZH)
    assert early.status_code == 409
    assert "本案件尚未判决" in early.text
    move_to(session, case, CaseStatus.JUDGED)
    session.commit()
    page = client.get(case_path, headers=ZH).text
    assert 'data-testid="handoff-link-0"' in page
    assert "移送信息库（有罪判决）" in page
    form = client.get(_path(session, case), headers=EN)
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    # Sex, birth date and nationality are read from the suspect's resident ID number.
    assert 'name="date_of_birth" type="date" value="1980-05-17"' in form.text
    assert '<option value="M" selected>' in form.text
    assert SUSPECT_NUMBER not in form.text  # the number stays on file, not on the page
    sent = client.post(_path(session, case), data=_form(csrf), headers=ZH)
    assert sent.status_code == 303
    assert sent.headers["location"] == case_path
    chinese = client.get(case_path, headers=ZH).text
    assert "移送信息库——记录状态：草稿" in chinese
    assert 'data-testid="handoff-link-0"' not in chinese
    english = client.get(case_path, headers=EN).text
    assert "record status: Draft" in english
    again = client.post(_path(session, case), data=_form(csrf), headers=EN)
    assert again.status_code == 409
    assert "a suspect is sent only once" in again.text


def test_field_errors_are_shown_next_to_their_fields_in_the_readers_language(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = move_to(session, open_case(session, cast.officer, cast.site), CaseStatus.JUDGED)
    client, _, csrf = signed_in(user=cast.officer)
    path = _path(session, case)
    checks = [
        ({"decision_number": ""}, "decision_number", "A value is required.", "此项必填。"),
        ({"sex": "F"}, "sex", "identity number", None),
        ({"sentence_months": "lots"}, "sentence_months", "Enter a whole number.", None),
        ({"offence_date": "2026-12-01"}, "offence_date", "after the decision", None),
        ({"decision_date": "15/10/2026"}, "decision_date", None, None),
    ]
    for overrides, field, english, chinese in checks:
        refused = client.post(path, data=_form(csrf, **overrides), headers=EN)
        assert refused.status_code == 422, field
        assert f'data-testid="error-{field}"' in refused.text, field
        if english:
            assert english in refused.text, field
        if chinese:
            zh = client.post(path, data=_form(csrf, **overrides), headers=ZH).text
            assert chinese in zh, field
            assert "尚未移送" in zh
    # What was typed is kept.
    assert 'value="北京市东城区人民法院"' in refused.text
    assert session.scalars(select(RegistryRecord)).all() == []


def test_others_get_not_found_and_the_registry_clerk_sees_the_draft_with_its_source(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = move_to(session, open_case(session, cast.officer, cast.site), CaseStatus.JUDGED)
    session.commit()
    other, _, other_csrf = signed_in(user=cast.second_officer)
    assert other.get(_path(session, case), headers=EN).status_code == 404
    assert other.post(_path(session, case), data=_form(other_csrf)).status_code == 404
    client, _, csrf = signed_in(user=cast.officer)
    assert client.post(_path(session, case), data=_form(csrf)).status_code == 303
    clerk, _, _ = signed_in(user=cast.registry_clerk)
    listing = clerk.get("/registry/submissions", headers=ZH).text
    assert 'data-source="onestop_case"' in listing
    assert "一站式案件移送" in listing
    record = session.scalars(select(RegistryRecord)).one()
    shown = clerk.get(f"/registry/records/{record.id}", headers=EN).text
    assert "One-stop case hand-off" in shown
    edit = clerk.get(f"/registry/records/{record.id}/edit", headers=EN).text
    assert 'name="received_on_paper"' not in edit  # a hand-off is no paper decision

"""The site-performance page and API: figures and "fewer than 5" in both languages, the chart
data (suppressed figures left out), the period form, the nav link, and the audited read."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.onestop.models import OneStopCase
from tests.factories.accounts import api_token, make_user
from tests.factories.onestop import Cast, make_cast, make_site, open_case
from tests.onestop.conftest import head
from tests.onestop.test_performance import _interview
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import OneStopSite

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
OCTOBER = "from=2026-10&to=2026-10"


def _cases(session: Session, cast: Cast, site: OneStopSite, count: int) -> None:
    for day in range(count):
        case = open_case(session, cast.officer, site)
        case.received_at = datetime(2026, 10, 5 + day, 2, 0, tzinfo=UTC)
    session.flush()


def _two_sites(session: Session) -> tuple[Cast, OneStopSite]:
    """The cast's site with six October cases, and a small site with two."""
    cast = make_cast(session)
    small = make_site(session, name="一站式取证中心-小站")
    _cases(session, cast, cast.site, 6)
    _cases(session, cast, small, 2)
    session.commit()
    return cast, small


def _row(page: str, marker: str) -> str:
    found = re.search(rf"<tr {marker}>(.*?)</tr>", page, re.DOTALL)
    assert found is not None, marker
    return found.group(1)


def test_the_page_shows_figures_and_fewer_than_5_in_english(
    session: Session, signed_in: Signer
) -> None:
    cast, small = _two_sites(session)
    client, _user, _csrf = signed_in(Role.ANALYST)
    start = head(session)
    response = client.get(f"/onestop/performance?{OCTOBER}", headers=EN)
    assert response.status_code == 200
    page = response.text
    assert 'data-testid="nav-performance"' in page
    small_row = _row(page, f'data-site="{small.id}"')
    assert small_row.count("fewer than 5") == 9  # every figure, the count included
    assert ">2<" not in small_row
    # The larger site's count is hidden too (secondary suppression: 8 - 6 would give 2 away).
    own = _row(page, f'data-site="{cast.site.id}"')
    assert (
        '<td data-measure="cases"><span class="suppressed" data-suppressed="true"'
        ' data-withheld="true">withheld</span>' in own
    )
    national = _row(page, 'data-testid="national"')
    assert '<td data-measure="cases">8</td>' in national
    # Charts: the figures shown only; nothing to chart here but the case counts, so each
    # chart says so and names the sites left out.
    assert "Left out (fewer than 5):" in page
    data = json.loads(
        html.unescape(
            re.search(r'id="performance-chart-data">(.*?)</script>', page, re.DOTALL).group(1)  # type: ignore[union-attr]
        )
    )
    assert data == {"charts": []}
    session.expire_all()
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.seq > start)).all()
    assert actions == ["web:onestop:performance_read"]


def test_the_page_in_chinese_and_its_chart_data(session: Session, signed_in: Signer) -> None:
    cast, small = _two_sites(session)
    # Five of the cast's cases interviewed and recorded: a figure to chart.
    for case in _own_cases(session, cast)[:5]:
        _interview(session, case, 1, recorded=True)
    session.commit()
    client, _user, _csrf = signed_in(Role.PROSECUTOR)
    page = client.get(f"/onestop/performance?{OCTOBER}", headers=ZH).text
    assert "不足 5" in page
    assert "“一站式”取证场所工作成效" in page
    data = json.loads(
        html.unescape(
            re.search(r'id="performance-chart-data">(.*?)</script>', page, re.DOTALL).group(1)  # type: ignore[union-attr]
        )
    )
    charts = {c["key"]: c for c in data["charts"]}
    assert set(charts) == {"interviews_per_child", "recorded_share"}
    recorded = charts["recorded_share"]
    assert recorded["names"] == ["全国", cast.site.name]
    assert recorded["values"] == [100.0, 100.0]
    assert recorded["left_out"] == [small.name]
    assert recorded["title"] == "询问同步录音录像的比例（%）"


def _own_cases(session: Session, cast: Cast) -> list[OneStopCase]:
    return list(
        session.scalars(
            select(OneStopCase)
            .where(OneStopCase.site_id == cast.site.id)
            .order_by(OneStopCase.received_at)
        )
    )


def test_a_bad_month_is_shown_on_the_form(signed_in: Signer) -> None:
    client, _user, _csrf = signed_in(Role.CASE_OFFICER)
    response = client.get("/onestop/performance?from=2026-13", headers=EN)
    assert response.status_code == 422
    assert "Enter a month written YYYY-MM." in response.text
    assert 'data-testid="performance"' not in response.text


def test_the_nav_link_only_for_those_who_may_read(signed_in: Signer) -> None:
    for role, shown in (
        (Role.ANALYST, True),
        (Role.CASE_OFFICER, True),
        (Role.SUPPORT_WORKER, False),
        (Role.ADMIN, False),
    ):
        client, _user, _csrf = signed_in(role)
        assert ('data-testid="nav-performance"' in client.get("/", headers=EN).text) is shown


def test_the_api_answers_null_and_suppressed_never_a_small_number(
    session: Session, client: TestClient
) -> None:
    cast, small = _two_sites(session)
    analyst = make_user(session, roles=(Role.ANALYST,))
    token = api_token(session, analyst)
    session.commit()
    response = client.get(
        f"/api/v1/onestop/performance?{OCTOBER}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["from_month"], body["to_month"]) == ("2026-10", "2026-10")
    assert body["suppression_threshold"] == 5
    assert body["national"]["cases"] == {"value": 8.0, "suppressed": False, "withheld": False}
    sites = {s["site_id"]: s for s in body["sites"]}
    assert sites[str(small.id)]["name"] == small.name
    figures = sites[str(small.id)]["figures"]
    assert len(figures) == 9
    assert all(
        f == {"value": None, "suppressed": True, "withheld": False} for f in figures.values()
    )
    # Secondary suppression: the national 8 minus a shown 6 would give the small site's 2 away.
    assert sites[str(cast.site.id)]["figures"]["cases"] == {
        "value": None,
        "suppressed": True,
        "withheld": True,
    }
    bad = client.get(
        "/api/v1/onestop/performance?from=2026-9", headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 422

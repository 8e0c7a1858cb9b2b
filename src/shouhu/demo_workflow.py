"""The demo's record workflow: submissions in every state, so every registry page shows something.

Made by the demo accounts through the real services (`registry.lifecycle`, `registry.merging`),
so the records, their histories and their audit events are what the same clicks would make. The
waiting times are set back a little so the reviewers' queue shows its oldest-first order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import User
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction, utcnow
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import prc_check_character
from shouhu.registry import lifecycle
from shouhu.registry.duplicates import sweep_persons
from shouhu.registry.lifecycle import RecordCorrection, Scan
from shouhu.registry.models import RegistryRecord
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.schemas import RecordSubmission
from shouhu.screening.service import Matcher

# A minimal well-formed PDF: what a scanned judgment would be, without the scan.
DEMO_PDF: Final = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


@dataclass(frozen=True)
class DemoWorkflow:
    """How many records the seed left in each state."""

    pending: int
    returned: int
    drafts: int
    decided: int


def demo_number(region: str, born: date, sequence: int) -> str:
    """A valid PRC identity number for a demo person."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + prc_check_character(first17)


def _person(name: str, region: str, born: date, sequence: int) -> dict[str, str]:
    return {"name": name, "id_type": "prc_id", "id_number": demo_number(region, born, sequence)}


def _conviction(
    person: dict[str, str], number: str, decided: str, **extra: object
) -> RecordSubmission:
    return RecordSubmission.model_validate(
        {
            **person,
            "record_kind": "conviction",
            "offence": "child_molestation",
            "decision_authority": "北京市东城区人民法院",
            "decision_number": number,
            "decision_date": decided,
            **extra,
        }
    )


def demo_actor(session: Session, username: str) -> Principal:
    """A demo account, acting through the pages."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"the demo account {username} is missing")
    return principal_for(user, "web")


def _waited(record: RegistryRecord, hours: int) -> None:
    """Set a pending record's sending back by `hours` (the queue orders by it)."""
    moment = utcnow() - timedelta(hours=hours)
    record.submitted_at = moment
    for transition in record.transitions:
        transition.occurred_at = moment


def seed_workflow(factory: sessionmaker[Session], settings: Settings) -> DemoWorkflow:
    """Submit, return, approve, correct, seal and revoke demo records; pair two duplicates."""
    with transaction(factory) as session:
        court = demo_actor(session, "court.clerk")
        prosecutor = demo_actor(session, "prosecutor")
        clerk = demo_actor(session, "registry.clerk")
        reviewer = demo_actor(session, "registry.reviewer")
        submit = lifecycle.submit_record

        # Waiting for review, the oldest first in the queue.
        first = submit(
            session,
            actor=court,
            data=_conviction(
                _person("陈建国", "110101", date(1975, 3, 2), 11),
                "(2026)京0101刑初201号",
                "2026-10-12",
            ),
            scan=Scan("judgment-201.pdf", "application/pdf", DEMO_PDF),
        )
        _waited(first, 52)
        second = submit(
            session,
            actor=prosecutor,
            data=RecordSubmission.model_validate(
                {
                    **_person("刘伟", "110105", date(1988, 7, 9), 33),
                    "record_kind": "non_prosecution",
                    "offence": "forcible_indecency",
                    "decision_authority": "北京市朝阳区人民检察院",
                    "decision_number": "京朝检刑不诉〔2026〕88号",
                    "decision_date": "2026-11-02",
                }
            ),
        )
        _waited(second, 7)
        third = submit(
            session,
            actor=clerk,
            data=RecordSubmission.model_validate(
                {
                    **_person("赵磊", "110102", date(1992, 1, 20), 55),
                    "record_kind": "administrative_penalty",
                    "offence": "indecency_administrative",
                    "decision_authority": "北京市公安局西城分局",
                    "decision_number": "京公西行罚决字〔2026〕316号",
                    "decision_date": "2026-11-20",
                }
            ),
        )
        _waited(third, 1)

        # Returned to the court with a reason, and a draft the court has not sent yet.
        returned = submit(
            session,
            actor=court,
            data=_conviction(
                _person("孙强", "110101", date(1969, 11, 30), 77),
                "(2026)京0101刑初19号",
                "2026-09-01",
            ),
        )
        lifecycle.return_record(
            session,
            actor=reviewer,
            record_id=returned.id,
            reason="判决书文号与扫描件不一致，请核对后重新提交并附判决书扫描件。",
        )
        submit(
            session,
            actor=court,
            data=_conviction(
                _person("周明", "110101", date(1983, 4, 4), 91),
                "(2026)京0101刑初230号",
                "2026-11-25",
            ),
            send=False,
        )

        # Decided: active, corrected (version 2 in force), sealed (committed at 16), revoked.
        active = submit(
            session,
            actor=court,
            data=_conviction(
                _person("吴海", "110101", date(1979, 8, 15), 13),
                "(2024)京0101刑初77号",
                "2024-05-06",
            ),
        )
        lifecycle.approve_record(session, actor=reviewer, record_id=active.id)
        correction = lifecycle.submit_correction(
            session,
            actor=court,
            record_id=active.id,
            data=RecordCorrection(
                record_kind="conviction",
                offence="child_molestation",
                decision_authority="北京市东城区人民法院",
                decision_number="(2024)京0101刑初77号",
                decision_date="2024-05-08",
            ),
        )
        lifecycle.approve_record(session, actor=reviewer, record_id=correction.id)
        juvenile = submit(
            session,
            actor=court,
            data=_conviction(
                {**_person("郑小军", "110101", date(2006, 2, 10), 35)},
                "(2023)京0101刑初12号",
                "2023-03-15",
                offence_date=date(2022, 8, 1),
                sentence_months=24,
            ),
        )
        lifecycle.approve_record(session, actor=reviewer, record_id=juvenile.id)
        quashed = submit(
            session,
            actor=court,
            data=_conviction(
                _person("王刚", "110101", date(1971, 12, 1), 57),
                "(2022)京0101刑初5号",
                "2022-02-02",
            ),
        )
        lifecycle.approve_record(session, actor=reviewer, record_id=quashed.id)
        lifecycle.revoke_record(
            session,
            actor=reviewer,
            record_id=quashed.id,
            reason="经再审撤销原判，宣告无罪：(2025)京01刑再3号。",
        )

        # One man registered twice, under two counties' numbers: the duplicates page's pair.
        twins = []
        for region, sequence, number in (
            ("110101", 71, "(2020)京0101刑初40号"),
            ("310101", 73, "(2021)沪0101刑初66号"),
        ):
            record = submit(
                session,
                actor=court,
                data=_conviction(
                    _person("黄志明", region, date(1977, 6, 6), sequence), number, "2021-01-05"
                ),
            )
            lifecycle.approve_record(session, actor=reviewer, record_id=record.id)
            twins.append(record.person_id)
        # The engine pairs them, as a sweep would (`shouhu registry duplicates`).
        matcher = Matcher.from_settings(settings, purpose=InquiryPurpose.CLOSE_CONTACT)
        sweep_persons(
            session,
            [p for p in twins if p is not None],
            actor=reviewer,
            model=matcher.model,
            thresholds=matcher.thresholds,
        )
    return DemoWorkflow(pending=3, returned=1, drafts=1, decided=5)

"""The demo's inquiries: a school's inquiries in every state and a staff file answered in a batch.

Made by the demo accounts (school.hr, education.officer) through the real services, after the
record workflow (`demo_workflow`), so that the answers come from the demo registry: 吴海's
active conviction is found, a namesake of his waits for the registry reviewers, strangers have
no record. The batch is answered here, by a runner in this process, before the server starts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.database import transaction
from shouhu.core.settings import Settings
from shouhu.demo_workflow import demo_actor, demo_number
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening import batches, inquiries
from shouhu.screening.batch_runner import BatchRunner
from shouhu.screening.inquiries import InquiryRequest

OFFENDER = ("吴海", demo_number("110101", date(1979, 8, 15), 13))  # active conviction (workflow)
NAMESAKE = ("吴海", demo_number("110105", date(1979, 8, 15), 21))  # same name and birth date
STAFF_ROWS = 60


@dataclass(frozen=True)
class DemoInquiries:
    """What the seed left for the inquiry pages."""

    inquiries: int
    batch_rows: int


def _ask(name: str, number: str, position: str, reference: str) -> InquiryRequest:
    return InquiryRequest(
        purpose="school_staff",
        subject={"name": name, "id_type": "prc_id", "id_number": number},
        consent_reference=reference,
        consent_signed_on=latest_possible_date() - timedelta(days=3),
        position=position,
    )


def _staff_file() -> bytes:
    """The school's staff for the yearly re-check: strangers, one offender, one typing error."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "name", "id_type", "id_number", "position"])
    for i in range(STAFF_ROWS):
        number = demo_number("110101", date(1970 + i % 30, 1 + i % 12, 1 + i % 28), 201 + 2 * i)
        writer.writerow([f"JZG-{i + 1:03d}", "教职工" + str(i + 1), "prc_id", number, "教师"])
    writer.writerow(["JZG-061", OFFENDER[0], "prc_id", OFFENDER[1], "门卫"])
    writer.writerow(["JZG-062", "李娜", "prc_id", "11010119900101123", "保育员"])  # one digit short
    return out.getvalue().encode()


def seed_inquiries(factory: sessionmaker[Session], settings: Settings) -> DemoInquiries:
    """Ask, approve, refuse, hire; upload and answer the school's staff file."""
    with transaction(factory) as session:
        school = demo_actor(session, "school.hr")
        officer = demo_actor(session, "education.officer")
        submit = inquiries.submit_inquiry
        found = submit(
            session,
            actor=school,
            request=_ask(*OFFENDER, "门卫", "授权书-2026-001"),
            settings=settings,
        )
        inquiries.approve_inquiry(session, actor=officer, inquiry_id=found.id, settings=settings)
        inquiries.record_hiring(session, actor=school, inquiry_id=found.id, decision="not_hired")
        clear = submit(
            session,
            actor=school,
            request=_ask(
                "林晓燕", demo_number("110102", date(1994, 6, 1), 42), "语文教师", "授权书-2026-002"
            ),
            settings=settings,
        )
        inquiries.approve_inquiry(session, actor=officer, inquiry_id=clear.id, settings=settings)
        inquiries.record_hiring(session, actor=school, inquiry_id=clear.id, decision="hired")
        review = submit(
            session,
            actor=school,
            request=_ask(*NAMESAKE, "体育教师", "授权书-2026-003"),
            settings=settings,
        )
        inquiries.approve_inquiry(session, actor=officer, inquiry_id=review.id, settings=settings)
        refused = submit(
            session,
            actor=school,
            request=_ask(
                "马丽", demo_number("110101", date(1985, 9, 9), 64), "", "授权书-2026-004"
            ),
            settings=settings,
        )
        inquiries.refuse_inquiry(
            session,
            actor=officer,
            inquiry_id=refused.id,
            reason="未填写应聘岗位，无法确认为应聘人员，请补充后重新提交。",
        )
        submit(
            session,
            actor=school,
            request=_ask(
                "高峰", demo_number("110101", date(1990, 2, 2), 85), "数学教师", "授权书-2026-005"
            ),
            settings=settings,
        )
        batch = batches.upload_batch(
            session,
            actor=school,
            upload=batches.BatchUpload(
                purpose="annual_recheck",
                consent_reference="2026年度全体教职工授权书",
                consent_signed_on=latest_possible_date() - timedelta(days=10),
                file_name="2026年度复查名单.csv",
                content=_staff_file(),
            ),
            settings=settings,
        )
        batches.approve_batch(session, actor=officer, batch_id=batch.id)
    BatchRunner(factory, settings).run_pending()
    return DemoInquiries(inquiries=5, batch_rows=STAFF_ROWS + 2)

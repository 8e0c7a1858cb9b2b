"""One-stop site performance at national scale: the time and memory of `site_performance`.

Usage: .venv/bin/python bench/onestop_performance.py [--cases 20000] [--sites 500] [--runs 5]
       [--seed 7] [--url URL]
Without --url it measures a fresh SQLite file and, if SHOUHU_TEST_DATABASE_URL is set, a fresh
PostgreSQL database as well.

The data set is a national year of one-stop cases (about 500 sites; tens of thousands of cases),
received over the twelve months of the report's default period, spread unevenly over the sites
(some sites receive fewer than five cases, so suppression has work to do). Each case has one
child (one in eight has two), a suspect, its team (lead officer, forensic examiner, prosecutor,
Women's Federation worker) and its intake status change; one joint session (a few a second one)
with 3-8 arrivals, about one in six missing a required agency and a few never held; one
forensic interview per child (a few children a second one, each with a prosecutor's approval;
a few interviews not recorded); a medical report for about half the cases, examined on site or
not; one or two service referrals, most of them started. Custody logs, files and audit events of
the cases are not made: the report reads none of them.

The rows go in with ORM bulk `insert()` (executemany, in batches), not through the services
(which audit and lock per case); every sealed column holds a real envelope, sealed under the
bench keyring with the associated data of its table, column and row, as the models' encrypted
attributes would. The few organisations and users come from the test factories.

It prints, per backend: the seeding time and rows per table; then `site_performance(...)` for
the default period (the last twelve months), as the API and the page call it, each run in its
own committed transaction (it writes one audit event): min and median over `--runs`, the
largest growth of the process's peak resident size over a run, and, in one more run under
tracemalloc (slower, not timed), the peak of Python allocations.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.crypto.fields import EncryptedField, FieldSealer
from shouhu.core.database import Base, transaction, utcnow
from shouhu.onestop.custody import GENESIS_HASH
from shouhu.onestop.evidence_models import EvidenceItem, EvidenceKind
from shouhu.onestop.models import (
    CaseChild,
    CaseMember,
    CaseRole,
    CaseStatus,
    CaseStatusChange,
    CaseSuspect,
    OneStopCase,
    OneStopSite,
    ReportingChannel,
    SitePartner,
)
from shouhu.onestop.performance import (
    MEASURES,
    PerformanceReport,
    Period,
    period_of,
    site_performance,
)
from shouhu.onestop.service_models import ReferralStatus, ServiceKind, ServiceReferral
from shouhu.onestop.session_models import (
    Agency,
    ForensicInterview,
    JointSession,
    SecondInterviewApproval,
    SessionArrival,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import Database, databases

# The organisations and users come from the test factories, which live beside `src/`.
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of

BATCH = 5_000  # rows per executemany
CLOSED_EVERY = 50  # one site in fifty is closed
BUREAUS = 8  # public security bureaus hosting the sites, a handful (their staff receive cases)
REGIONS = ("110101", "310101", "440103", "510104", "420102", "610103", "330102", "210102")
OFFENCES = ("child_molestation", "rape", "forcible_indecency")
PLACES = ("某小学教师办公室", "某培训机构教室", "某小区居民楼", "某村委会附近", "某网吧")
GIVEN = ("小红", "小明", "晓燕", "子涵", "梓轩", "欣怡", "浩然", "雨桐")
SURNAMES = ("李", "王", "张", "刘", "陈", "杨", "赵", "黄")
CORE = (Agency.CRIMINAL_INVESTIGATION, Agency.FORENSICS, Agency.PROCURATORATE)
EXTRA = (Agency.WOMENS_FEDERATION, Agency.MEDICAL, Agency.PSYCHOLOGIST, Agency.LEGAL_AID)


@dataclass
class Cast:
    """The few organisations and users every case hangs off."""

    bureaus: list[uuid.UUID]
    officers: list[uuid.UUID]  # a case officer of each bureau, by bureau
    forensic: uuid.UUID
    prosecutor: uuid.UUID
    support: uuid.UUID
    partners: list[uuid.UUID]  # the Women's Federation, a hospital, a legal aid centre
    analyst: Any  # the Principal reading the figures


@dataclass
class Rows:
    """The rows of every table, filled in batches and flushed as they grow."""

    session: Session
    pending: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    sealer: FieldSealer = field(default_factory=FieldSealer)

    def add(self, model: type[Base], **values: Any) -> uuid.UUID:
        """Queue one row (a new id unless given); at BATCH rows of a table, insert them all."""
        row_id = values.setdefault("id", uuid.uuid4())
        rows = self.pending.setdefault(model, [])
        rows.append(values)
        if len(rows) >= BATCH:
            self.flush_all(ORDER)  # the parents' queued rows first (foreign keys)
        return row_id  # type: ignore[no-any-return]

    def seal(self, attribute: EncryptedField[str], row_id: uuid.UUID, value: str) -> bytes:
        """The envelope the encrypted attribute would store for this row."""
        return self.sealer.seal(attribute.encode(value), attribute.aad_for_row(row_id))

    def flush(self, model: type[Base]) -> None:
        """Insert one table's queued rows (executemany)."""
        rows = self.pending.get(model)
        if rows:
            self.session.execute(insert(model), rows)
            self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + len(rows)
            rows.clear()

    def flush_all(self, order: list[type[Base]]) -> None:
        """Insert what is queued, parents before children, and commit.

        One commit per batch, not one for the whole data set: a transaction far larger than
        SQLite's page cache spills it into an ever-growing write-ahead log.
        """
        for model in order:
            self.flush(model)
        self.session.commit()


# Parents before children: a batch of a child table flushes only after its parents' rows.
ORDER: list[type[Base]] = [
    OneStopSite,
    SitePartner,
    OneStopCase,
    CaseStatusChange,
    CaseChild,
    CaseSuspect,
    CaseMember,
    JointSession,
    SessionArrival,
    SecondInterviewApproval,
    ForensicInterview,
    EvidenceItem,
    ServiceReferral,
]


def make_cast(session: Session) -> Cast:
    """Bureaus and their officers, a procuratorate, partners and an analyst (factories)."""
    bureaus = [
        make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code=region)
        for region in REGIONS[:BUREAUS]
    ]
    officers = [make_user(session, roles=(Role.CASE_OFFICER,), org=b) for b in bureaus]
    procuratorate = make_org(session, org_type=OrgType.PROCURATORATE)
    federation = make_org(session, org_type=OrgType.PARTNER, kind="womens_federation")
    hospital = make_org(session, org_type=OrgType.PARTNER, kind="hospital")
    legal_aid = make_org(session, org_type=OrgType.PARTNER, kind="legal_aid")
    analyst = make_user(session, roles=(Role.ANALYST,))
    return Cast(
        bureaus=[b.id for b in bureaus],
        officers=[o.id for o in officers],
        forensic=make_user(session, roles=(Role.FORENSIC_EXAMINER,), org=bureaus[0]).id,
        prosecutor=make_user(session, roles=(Role.PROSECUTOR,), org=procuratorate).id,
        support=make_user(session, roles=(Role.SUPPORT_WORKER,), org=federation).id,
        partners=[federation.id, hospital.id, legal_aid.id],
        analyst=principal_of(analyst),
    )


def _sites(rows: Rows, cast: Cast, count: int) -> list[tuple[uuid.UUID, int]]:
    """`count` sites, each hosted by a bureau (by index), with the partners attached."""
    sites = []
    for number in range(count):
        bureau = number % len(cast.bureaus)
        site_id = rows.add(
            OneStopSite,
            name=f"一站式取证中心-{number:04d}",
            region_code=REGIONS[bureau],
            host_unit_id=cast.bureaus[bureau],
            interview_room=True,
            medical_room=number % 3 != 0,
            waiting_room=True,
            phone="010-6512 3456",
            address=f"某区某路 {number} 号",
            active=number % CLOSED_EVERY != CLOSED_EVERY - 1,  # listed only if they had cases
        )
        for partner in cast.partners:
            rows.add(SitePartner, site_id=site_id, organisation_id=partner)
        sites.append((site_id, bureau))
    rows.flush_all(ORDER)
    return sites


def _spread(rng: random.Random, count: int) -> list[float]:
    """Uneven site weights: a long tail of small sites, a few busy ones."""
    return [rng.lognormvariate(0, 1.1) for _ in range(count)]


def _arrivals(
    rng: random.Random, required: list[Agency], *, full: bool
) -> list[tuple[Agency, float, float | None]]:
    """3-8 arrivals (agency, hours after the start, hours stayed or None); one required agency
    left out unless `full`."""
    came = list(required)
    if not full:
        came.remove(rng.choice(came))
    came.append(Agency.GUARDIAN)
    target = rng.randint(3, 8)
    while len(came) < target:
        came.append(rng.choice(CORE + EXTRA))  # another of an agency, or one more agency
    return [(agency, rng.uniform(0, 0.5), rng.choice((None, 3.0, 4.5))) for agency in came]


def _case(
    rows: Rows,
    rng: random.Random,
    cast: Cast,
    site: tuple[uuid.UUID, int],
    received: datetime,
) -> None:
    site_id, bureau = site
    officer = cast.officers[bureau]
    case_id = uuid.uuid4()
    rows.add(
        OneStopCase,
        id=case_id,
        received_at=received,
        channel=rng.choice(list(ReportingChannel)).value,
        offence=rng.choice(OFFENCES),
        place_sealed=rows.seal(OneStopCase.place, case_id, rng.choice(PLACES)),
        jurisdiction=REGIONS[bureau],
        site_id=site_id,
        status=CaseStatus.UNDER_INVESTIGATION.value,
        status_changed_at=received + timedelta(days=3),
        opened_by_id=officer,
        organisation_id=cast.bureaus[bureau],
        opened_at=received,
    )
    rows.add(
        CaseStatusChange,
        case_id=case_id,
        to_status=CaseStatus.RECEIVED.value,
        changed_by_id=officer,
        changed_at=received,
    )
    members = {
        role: rows.add(
            CaseMember,
            case_id=case_id,
            user_id=user,
            role=role.value,
            added_by_id=officer,
            added_at=received,
        )
        for role, user in (
            (CaseRole.LEAD_OFFICER, officer),
            (CaseRole.FORENSIC, cast.forensic),
            (CaseRole.PROSECUTOR, cast.prosecutor),
            (CaseRole.WOMENS_FEDERATION, cast.support),
        )
    }
    member_of = {
        Agency.CRIMINAL_INVESTIGATION: members[CaseRole.LEAD_OFFICER],
        Agency.FORENSICS: members[CaseRole.FORENSIC],
        Agency.PROCURATORATE: members[CaseRole.PROSECUTOR],
        Agency.WOMENS_FEDERATION: members[CaseRole.WOMENS_FEDERATION],
    }
    suspect_id = uuid.uuid4()
    rows.add(
        CaseSuspect,
        id=suspect_id,
        case_id=case_id,
        name_sealed=rows.seal(CaseSuspect.name, suspect_id, "王某"),
        added_by_id=officer,
        added_at=received,
    )
    children = []
    for letter in "AB"[: 2 if rng.random() < 0.125 else 1]:  # noqa: PLR2004 - one in eight
        child_id = uuid.uuid4()
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        rows.add(
            CaseChild,
            id=child_id,
            case_id=case_id,
            letter=letter,
            name_sealed=rows.seal(CaseChild.name, child_id, name),
            date_of_birth_sealed=rows.seal(CaseChild.date_of_birth, child_id, "2016-04-02"),
            guardian_name_sealed=rows.seal(CaseChild.guardian_name, child_id, name[0] + "强"),
            guardian_relationship_sealed=rows.seal(
                CaseChild.guardian_relationship, child_id, "父亲"
            ),
            age_at_intake=rng.randint(4, 17),
            sex=rng.choice("FM"),
            added_by_id=officer,
            added_at=received,
        )
        children.append(child_id)
    # The joint session: a day or three after receipt; a few cases have a second one.
    session_ids = []
    for extra in range(2 if rng.random() < 0.05 else 1):  # noqa: PLR2004 - one in twenty
        at = received + timedelta(hours=rng.uniform(2, 72) + 48 * extra)
        required = list(CORE) + rng.sample(EXTRA, rng.randint(0, 2))
        order = list(Agency)
        joint_id = rows.add(
            JointSession,
            case_id=case_id,
            site_id=site_id,
            scheduled_for=at,
            required=",".join(a.value for a in sorted(required, key=order.index)),
            scheduled_by_id=officer,
            scheduled_at=received,
        )
        session_ids.append(joint_id)
        if rng.random() < 0.03:  # noqa: PLR2004 - due, but no arrival recorded
            continue
        for agency, after, stayed in _arrivals(rng, required, full=rng.random() >= 1 / 6):
            arrival_id = uuid.uuid4()
            arrived = at + timedelta(hours=after)
            guardian = agency is Agency.GUARDIAN
            rows.add(
                SessionArrival,
                id=arrival_id,
                session_id=joint_id,
                agency=agency.value,
                member_id=None if guardian else member_of.get(agency),
                person_name_sealed=(
                    rows.seal(SessionArrival.person_name, arrival_id, "李强") if guardian else None
                ),
                arrived_at=arrived,
                departed_at=arrived + timedelta(hours=stayed) if stayed else None,
                recorded_by_id=officer,
                recorded_at=arrived,
            )
    # One interview per child in the first session; a few children a second, approved one.
    lead = members[CaseRole.LEAD_OFFICER]
    start = received + timedelta(hours=rng.uniform(3, 80))
    for child_id in children:
        numbers = 2 if rng.random() < 0.04 else 1  # noqa: PLR2004 - one child in 25
        for number in range(1, numbers + 1):
            approval = None
            if number > 1:
                approval_id = uuid.uuid4()
                approval = rows.add(
                    SecondInterviewApproval,
                    id=approval_id,
                    case_id=case_id,
                    child_id=child_id,
                    reason_sealed=rows.seal(
                        SecondInterviewApproval.reason, approval_id, "首次询问时儿童情绪崩溃。"
                    ),
                    approved_by_id=cast.prosecutor,
                    approved_at=start + timedelta(days=number),
                )
            begun = start + timedelta(days=2 * (number - 1))
            rows.add(
                ForensicInterview,
                case_id=case_id,
                child_id=child_id,
                number=number,
                session_id=session_ids[0] if number == 1 else None,
                interviewer_id=lead,
                started_at=begun,
                ended_at=begun + timedelta(minutes=rng.randint(20, 70)),
                recorded=rng.random() >= 0.03,  # noqa: PLR2004 - a few not recorded
                approval_id=approval,
                recorded_by_id=officer,
                recorded_at=begun + timedelta(hours=2),
            )
    if rng.random() < 0.5:  # noqa: PLR2004 - a medical report for about half the cases
        item_id = uuid.uuid4()
        rows.add(
            EvidenceItem,
            id=item_id,
            case_id=case_id,
            number=1,
            kind=EvidenceKind.MEDICAL_REPORT.value,
            description_sealed=rows.seal(EvidenceItem.description, item_id, "法医检查报告"),
            place_sealed=rows.seal(EvidenceItem.place, item_id, "一站式取证中心检查室"),
            collected_at=start,
            collected_by_id=cast.forensic,
            child_id=children[0],
            examined_on_site=rng.random() < 0.7,  # noqa: PLR2004 - most on site
            custody_seq=0,
            custody_head=GENESIS_HASH,
            created_at=start,
        )
    services = rng.sample(list(ServiceKind), rng.randint(1, 2))
    for service in services:
        started = rng.random() < 0.85  # noqa: PLR2004 - most started
        referred = received + timedelta(hours=rng.uniform(4, 48))
        rows.add(
            ServiceReferral,
            case_id=case_id,
            child_id=children[0],
            service=service.value,
            organisation_id=rng.choice(cast.partners),
            assigned_to_id=cast.support,
            status=(ReferralStatus.IN_PROGRESS if started else ReferralStatus.REFERRED).value,
            due_at=received + timedelta(hours=72),
            referred_by_id=officer,
            referred_at=referred,
            started_at=referred + timedelta(hours=rng.uniform(1, 96)) if started else None,
            status_changed_at=referred,
        )


def seed(db: Database, *, cases: int, sites: int, period: Period, now: datetime, seed: int) -> Any:
    """Fill the database; print the time and the rows per table; return the reader."""
    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction(db.factory) as session:
        cast = make_cast(session)
    with db.factory() as session:
        rows = Rows(session)
        site_rows = _sites(rows, cast, sites)
        weights = _spread(rng, sites)
        chosen = rng.choices(site_rows, weights=weights, k=cases)
        # Received over the period, up to four days ago (so their sessions are due).
        first = period.start.timestamp()
        last = min(period.end, now - timedelta(days=4)).timestamp()
        for site in chosen:
            received = datetime.fromtimestamp(rng.uniform(first, last), tz=now.tzinfo)
            _case(rows, rng, cast, site, received)
        rows.flush_all(ORDER)
        counts = rows.counts
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    print(f"  seeded {total:,} rows in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")
    with db.factory() as session:
        for model in ORDER:
            stored = session.scalar(select(func.count()).select_from(model)) or 0
            print(f"    {model.__tablename__:<28} {stored:>9,}")
    return cast.analyst


def _rss_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset the process's peak resident size (Linux: clear_refs 5); whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _once(db: Database, actor: Any, period: Period, now: datetime) -> PerformanceReport:
    with transaction(db.factory) as session:
        return site_performance(session, actor=actor, period=period, now=now)


def measure(db: Database, actor: Any, period: Period, now: datetime, runs: int) -> None:
    """Time the report; its peak RSS growth and Python allocations."""
    times: list[float] = []
    growth: list[int] = []
    peaks: list[int] = []
    report = None
    gc.collect()
    at_start = _rss_kib("VmRSS")
    for _ in range(runs):
        report = None
        gc.collect()
        resettable = _reset_peak()
        before = _rss_kib("VmRSS")
        started = time.perf_counter()
        report = _once(db, actor, period, now)
        times.append(time.perf_counter() - started)
        peaks.append(_rss_kib("VmHWM" if resettable else "VmRSS"))
        growth.append(peaks[-1] - before)
    assert report is not None
    _describe(report)
    print(
        f"  site_performance x{runs}: min {min(times):.3f} s, median "
        f"{statistics.median(times):.3f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"
    )
    # Memory freed by seeding (or an earlier backend) is reused, so the growth over a run
    # understates a cold process's: the peak is given beside the resident size at the start.
    print(
        f"  RSS: {at_start / 1024:,.0f} MiB before the runs, peak {max(peaks) / 1024:,.0f} MiB; "
        f"growth over a run: largest {max(growth) / 1024:,.1f} MiB"
    )
    report = None
    gc.collect()
    tracemalloc.start()
    _once(db, actor, period, now)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak Python allocations (tracemalloc, one run): {peak / 2**20:,.1f} MiB")


def _describe(report: PerformanceReport) -> None:
    """What the report holds: the nation's case count, and sites shown and suppressed."""
    national = report.national
    suppressed = {
        name: sum(1 for s in report.sites if getattr(s.measures, name).suppressed)
        for name in MEASURES
    }
    print(
        f"  report {report.period.first_text}..{report.period.last_text}: "
        f"{national.cases.value:,.0f} cases, {len(report.sites)} sites listed; suppressed "
        f"per figure: {min(suppressed.values())}-{max(suppressed.values())} sites; national "
        f"session median {_value(national.session_median_hours)} h, full attendance "
        f"{_value(national.full_attendance_share)}, recorded {_value(national.recorded_share)}"
    )


def _value(figure: Any) -> str:
    return "suppressed" if figure.suppressed else f"{figure.value:.2f}"


def backends(url: str | None) -> Iterator[Database]:
    """Each database to measure (see common.databases)."""
    with tempfile.TemporaryDirectory() as directory, databases(Path(directory), url) as dbs:
        yield from dbs


def main() -> None:
    """Seed each backend, then measure the report on it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases over the 12 months")
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", help="a database URL to measure instead of the defaults")
    args = parser.parse_args()
    now = utcnow()
    period = period_of(None, None, now=now)
    print(
        f"{args.cases:,} cases at {args.sites:,} sites, "
        f"{period.first_text}..{period.last_text} (Beijing months)"
    )
    for db in backends(args.url):
        print(db.label)
        db.activate()
        actor = seed(db, cases=args.cases, sites=args.sites, period=period, now=now, seed=args.seed)
        measure(db, actor, period, now, args.runs)


if __name__ == "__main__":
    main()

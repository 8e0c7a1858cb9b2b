"""Sites and cases as the API returns them (built from the repository's rows)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.identity.regions import region_name
from shouhu.onestop import repository
from shouhu.onestop.cases import next_statuses
from shouhu.onestop.labels import pseudonym
from shouhu.onestop.models import (
    CaseChild,
    CaseRole,
    CaseStatus,
    ChildSex,
    OneStopCase,
    OneStopSite,
    ReportingChannel,
)
from shouhu.onestop.schemas import (
    CaseOut,
    CaseSummaryOut,
    ChildIdentityOut,
    ChildOut,
    MemberOut,
    PartnerOut,
    SiteOut,
    SuspectOut,
)


def site_out(session: Session, site: OneStopSite) -> SiteOut:
    """A site with its host unit's name and its partners."""
    host = session.get_one(Organisation, site.host_unit_id)
    return SiteOut(
        id=site.id,
        name=site.name,
        region_code=site.region_code,
        region_name=region_name(site.region_code),
        host_unit_id=site.host_unit_id,
        host_unit_name=host.name,
        interview_room=site.interview_room,
        medical_room=site.medical_room,
        waiting_room=site.waiting_room,
        phone=site.phone,
        address=site.address,
        active=site.active,
        partners=[
            PartnerOut(id=o.id, name=o.name, type=o.type, kind=o.kind)
            for o in repository.site_partners(session, site.id)
        ],
        created_at=site.created_at,
        updated_at=site.updated_at,
    )


def site_names(session: Session, cases: list[OneStopCase]) -> dict[object, str]:
    """The names of the cases' sites by id."""
    ids = {case.site_id for case in cases}
    if not ids:
        return {}
    rows = session.execute(select(OneStopSite.id, OneStopSite.name).where(OneStopSite.id.in_(ids)))
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


def case_summaries(session: Session, cases: list[OneStopCase]) -> list[CaseSummaryOut]:
    """The Cases list: status, time received, site and the children's pseudonyms."""
    names = site_names(session, cases)
    letters = repository.pseudonym_letters(session, [case.id for case in cases])
    return [
        CaseSummaryOut(
            id=case.id,
            status=CaseStatus(case.status),
            received_at=case.received_at,
            channel=ReportingChannel(case.channel),
            offence=case.offence,
            site_id=case.site_id,
            site_name=names.get(case.site_id, ""),
            children=[pseudonym(letter) for letter in letters.get(case.id, [])],
        )
        for case in cases
    ]


def child_out(child: CaseChild) -> ChildOut:
    """A child as the team sees it everywhere."""
    return ChildOut(
        id=child.id,
        letter=child.letter,
        pseudonym=pseudonym(child.letter),
        age_at_intake=child.age_at_intake,
        sex=ChildSex(child.sex),
    )


def child_identity_out(child: CaseChild) -> ChildIdentityOut:
    """A child's real identity (the caller has audited the read)."""
    born = child.date_of_birth
    return ChildIdentityOut(
        **child_out(child).model_dump(),
        name=child.name or "",
        id_type=child.id_type,
        id_number=child.id_number,
        date_of_birth=date.fromisoformat(born) if born else None,
        guardian_name=child.guardian_name,
        guardian_relationship=child.guardian_relationship,
        special_needs=child.special_needs,
    )


def members_out(session: Session, case: OneStopCase) -> list[MemberOut]:
    """The case's active team."""
    return [
        MemberOut(
            id=member.id,
            user_id=user.id,
            username=user.username,
            organisation_id=user.organisation_id,
            organisation_name=user.organisation.name,
            role=CaseRole(member.role),
            added_at=member.added_at,
        )
        for member, user in repository.team(session, case.id)
    ]


def case_out(session: Session, case: OneStopCase) -> CaseOut:
    """A case with its children's pseudonyms, suspects and team."""
    (summary,) = case_summaries(session, [case])
    children = repository.children_of(session, case.id)
    return CaseOut(
        **summary.model_dump(),
        place=case.place or "",
        jurisdiction=case.jurisdiction,
        child_victims=[child_out(child) for child in children],
        suspects=[
            SuspectOut(
                id=suspect.id,
                name=suspect.name or "",
                id_type=suspect.id_type,
                has_document=suspect.id_index is not None,
                registry_person_id=suspect.registry_person_id,
            )
            for suspect in repository.suspects_of(session, case.id)
        ],
        team=members_out(session, case),
        next_statuses=next_statuses(case.status),
    )

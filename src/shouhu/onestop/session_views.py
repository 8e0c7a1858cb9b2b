"""What the case page's sessions and interviews section shows, and the labels it needs."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.onestop import interviews, joint_sessions, repository
from shouhu.onestop.models import CaseMember, CaseRole, OneStopCase, OneStopSite
from shouhu.onestop.session_models import Agency

AGENCY_LABELS: Final = {
    Agency.CRIMINAL_INVESTIGATION: N_("Criminal investigation"),
    Agency.FORENSICS: N_("Forensics"),
    Agency.PROCURATORATE: N_("Procuratorate"),
    Agency.WOMENS_FEDERATION: N_("Women's Federation"),
    Agency.MEDICAL: N_("Medical"),
    Agency.PSYCHOLOGIST: N_("Psychologist"),
    Agency.GUARDIAN: N_("Guardian"),
    Agency.LEGAL_AID: N_("Legal aid"),
}


def may_approve(member: CaseMember | None, principal: Principal) -> bool:
    """Whether the reader may approve a second interview: a prosecutor on the team."""
    return (
        member is not None
        and member.role == CaseRole.PROSECUTOR.value
        and allows(principal, Permission.ONESTOP_INTERVIEW_APPROVE)
    )


def section_context(
    session: Session, principal: Principal, case: OneStopCase, member: CaseMember | None
) -> dict[str, Any]:
    """The case page's sessions and interviews: attendance, counts, the forms' choices."""
    sessions = [
        joint_sessions.attendance(session, j) for j in joint_sessions.sessions_of(session, case.id)
    ]
    site_ids = {a.session.site_id for a in sessions} | {case.site_id}
    sites = dict(
        session.execute(
            select(OneStopSite.id, OneStopSite.name).where(OneStopSite.id.in_(site_ids))
        ).all()
    )
    team = repository.team(session, case.id)
    children = repository.children_of(session, case.id)
    return {
        "agency_labels": AGENCY_LABELS,
        "agencies": list(Agency),
        "core_agencies": [a.value for a in Agency if a in joint_sessions.CORE_AGENCIES],
        "default_agencies": [a.value for a in joint_sessions.default_agencies(case, children)],
        "joint_sessions": sessions,
        "session_sites": sites,
        "interviewers": [
            (m, u) for m, u in team if CaseRole(m.role) in interviews.INTERVIEWER_ROLES
        ],
        "child_interviews": interviews.child_interviews(session, children),
        "may_approve": may_approve(member, principal),
    }

"""Organisation types, kinds, roles and the permissions each role holds (DESIGN §2)."""

from __future__ import annotations

from enum import StrEnum

from shouhu.core.i18n import N_


class OrgType(StrEnum):
    """The kinds of organisation that use Shouhu."""

    PUBLIC_SECURITY = "public_security"
    COURT = "court"
    PROCURATORATE = "procuratorate"
    EDUCATION_AUTHORITY = "education_authority"
    INSTITUTION = "institution"
    PARTNER = "partner"
    OVERSIGHT = "oversight"
    OPERATOR = "operator"


class InstitutionKind(StrEnum):
    """What an institution in close contact with minors is (Minors Law art. 62)."""

    KINDERGARTEN = "kindergarten"
    PRIMARY_SCHOOL = "primary_school"
    SECONDARY_SCHOOL = "secondary_school"
    VOCATIONAL_SCHOOL = "vocational_school"
    SPECIAL_SCHOOL = "special_school"
    UNIVERSITY = "university"
    TRAINING_BODY = "training_body"
    CHILDCARE = "childcare"
    CARE_RESCUE = "care_rescue"
    MEDICAL = "medical"
    OTHER_CLOSE_CONTACT = "other_close_contact"


class PartnerKind(StrEnum):
    """The partner bodies of one-stop evidence collection."""

    WOMENS_FEDERATION = "womens_federation"
    HOSPITAL = "hospital"
    PSYCHOLOGICAL_SERVICE = "psychological_service"
    LEGAL_AID = "legal_aid"
    JUSTICE_BUREAU = "justice_bureau"


KINDS_BY_TYPE: dict[OrgType, frozenset[str]] = {
    OrgType.INSTITUTION: frozenset(InstitutionKind),
    OrgType.PARTNER: frozenset(PartnerKind),
}


class Role(StrEnum):
    """What a user may do; a role only exists in the organisation types that hold it."""

    REGISTRY_CLERK = "registry_clerk"
    REGISTRY_REVIEWER = "registry_reviewer"
    CASE_OFFICER = "case_officer"
    FORENSIC_EXAMINER = "forensic_examiner"
    COURT_CLERK = "court_clerk"
    PROSECUTOR = "prosecutor"
    EDUCATION_OFFICER = "education_officer"
    INSTITUTION_HR = "institution_hr"
    SUPPORT_WORKER = "support_worker"
    AUDITOR = "auditor"
    ANALYST = "analyst"
    ADMIN = "admin"


ROLES_BY_ORG_TYPE: dict[OrgType, frozenset[Role]] = {
    OrgType.PUBLIC_SECURITY: frozenset(
        {Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER, Role.CASE_OFFICER, Role.FORENSIC_EXAMINER}
    ),
    OrgType.COURT: frozenset({Role.COURT_CLERK}),
    OrgType.PROCURATORATE: frozenset({Role.PROSECUTOR}),
    OrgType.EDUCATION_AUTHORITY: frozenset({Role.EDUCATION_OFFICER}),
    OrgType.INSTITUTION: frozenset({Role.INSTITUTION_HR}),
    OrgType.PARTNER: frozenset({Role.SUPPORT_WORKER}),
    OrgType.OVERSIGHT: frozenset({Role.AUDITOR, Role.ANALYST}),
    OrgType.OPERATOR: frozenset({Role.ADMIN}),
}


class Permission(StrEnum):
    """A capability checked at a route or a service; each route names exactly one (or is public)."""

    ACCOUNT_SELF = "account:self"  # own profile, password, MFA, API tokens
    ORGS_READ = "orgs:read"
    ORGS_MANAGE = "orgs:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    AUDIT_VERIFY = "audit:verify"
    AUDIT_READ = "audit:read"
    REGISTRY_IMPORT = "registry:import"
    REGISTRY_SCREEN = "registry:screen"  # screening files directly, with reviewers' explanations
    REGISTRY_DUPLICATES = "registry:duplicates"
    REGISTRY_SUBJECT_REPORT = "registry:subject_report"  # PIPL arts 44-45
    REGISTRY_SUBMIT = "registry:submit"  # enter a decision for review (four eyes)
    REGISTRY_REVIEW = "registry:review"  # approve, return, revoke, seal
    REGISTRY_READ = "registry:read"  # registry persons and decided records
    # A record's own page: each holder sees only the records the repository shows them.
    REGISTRY_RECORDS = "registry:records"
    INQUIRY_SUBMIT = "inquiry:submit"  # a staff-access inquiry, with the candidate's consent
    INQUIRY_APPROVE = "inquiry:approve"  # the supervising education authority (2023 notice)
    INQUIRY_REVIEW = "inquiry:review"  # confirm or clear a possible match (public security)
    # Counts of the inquiries of the institutions one supervises: never a candidate's data.
    COMPLIANCE_READ = "compliance:read"
    RECHECK_ENTER = "recheck:enter"  # enter a refused candidate's re-check request (authority)
    RECHECK_DECIDE = "recheck:decide"  # re-examine match and record, uphold or overturn
    RECHECK_READ = "recheck:read"  # read re-check requests: their authority's, or all (registry)
    ONESTOP_SITES_READ = "onestop:sites_read"  # the directory of one-stop sites and partners
    ONESTOP_SITES_MANAGE = "onestop:sites_manage"  # create and change sites, attach partners
    # Open the cases one is a team member of (the repository shows members only; others 404).
    ONESTOP_CASES_READ = "onestop:cases_read"
    ONESTOP_CASES_INTAKE = "onestop:cases_intake"  # receive a case (public security)
    # Change a case's status and its team: the service also requires active membership.
    ONESTOP_CASES_MANAGE = "onestop:cases_manage"
    # Approve a second forensic interview of a child (the service also requires the case role).
    ONESTOP_INTERVIEW_APPROVE = "onestop:interview_approve"
    # record evidence items, upload their files, append custody events (investigation, forensics)
    ONESTOP_EVIDENCE_RECORD = "onestop:evidence_record"
    # Export a case's evidence as one signed archive (the service also requires the case role:
    # the lead officer hands it to the procuratorate, the prosecutor to the court).
    ONESTOP_EVIDENCE_EXPORT = "onestop:evidence_export"
    # Services (docs/onestop.md): refer a child to a partner (a case manager on the team), read
    # referrals and append notes (the team, or the support worker whose task it is), and work
    # one's own tasks (the partner's support worker moves them along their path).
    ONESTOP_SERVICES_REFER = "onestop:services_refer"
    ONESTOP_SERVICES_READ = "onestop:services_read"
    ONESTOP_SERVICES_NOTE = "onestop:services_note"
    ONESTOP_SERVICES_WORK = "onestop:services_work"
    # Send a convicted suspect of a judged case to the registry as a draft record (the service
    # also requires a case officer on the team); the registry's clerks and reviewers take over.
    ONESTOP_REGISTRY_HANDOFF = "onestop:registry_handoff"
    # Site performance (issue 6, item 8): aggregates of all sites, counts below 5 suppressed.
    ONESTOP_PERFORMANCE_READ = "onestop:performance_read"


_EVERY_ROLE = frozenset(Role)

PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.ACCOUNT_SELF: _EVERY_ROLE,
    Permission.ORGS_READ: frozenset({Role.ADMIN}),
    Permission.ORGS_MANAGE: frozenset({Role.ADMIN}),
    Permission.USERS_READ: frozenset({Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    # Oversight verifies the chain; prosecutors supervise and read the audit trail (DESIGN §2).
    Permission.AUDIT_VERIFY: frozenset({Role.AUDITOR, Role.PROSECUTOR}),
    Permission.AUDIT_READ: frozenset({Role.AUDITOR, Role.PROSECUTOR}),
    Permission.REGISTRY_IMPORT: frozenset({Role.REGISTRY_CLERK}),
    # The staff-access inquiry wraps screening for institutions and authorities, who never see
    # a score or a registry person.
    Permission.REGISTRY_SCREEN: frozenset({Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER}),
    Permission.REGISTRY_DUPLICATES: frozenset({Role.REGISTRY_REVIEWER}),
    Permission.REGISTRY_SUBJECT_REPORT: frozenset({Role.REGISTRY_REVIEWER}),
    # 2020 Opinions art. 2: courts send convictions, procuratorates non-prosecution decisions,
    # public security its administrative penalties (and what arrives on paper).
    Permission.REGISTRY_SUBMIT: frozenset({Role.COURT_CLERK, Role.PROSECUTOR, Role.REGISTRY_CLERK}),
    Permission.REGISTRY_REVIEW: frozenset({Role.REGISTRY_REVIEWER}),
    # Public security's registry roles only (DESIGN §2); case officers work cases, not records.
    Permission.REGISTRY_READ: frozenset({Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER}),
    Permission.REGISTRY_RECORDS: frozenset(
        {Role.COURT_CLERK, Role.PROSECUTOR, Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER}
    ),
    # Institutions inquire about their candidates; authorities and universities query
    # directly for their own staff (MoE notice 2023).
    Permission.INQUIRY_SUBMIT: frozenset({Role.INSTITUTION_HR, Role.EDUCATION_OFFICER}),
    Permission.INQUIRY_APPROVE: frozenset({Role.EDUCATION_OFFICER}),
    Permission.INQUIRY_REVIEW: frozenset({Role.REGISTRY_REVIEWER}),
    # The authority watches its institutions' compliance; the procuratorate supervises it
    # (DESIGN §2; 2020 Opinions: procuratorates supervise the inquiry; Minors Law art. 130).
    Permission.COMPLIANCE_READ: frozenset({Role.EDUCATION_OFFICER, Role.PROSECUTOR}),
    # MoE notice 2023: a refused applicant may ask for a re-check (复查). The supervising
    # education authority enters it; the registry's reviewers decide it (DESIGN §2).
    Permission.RECHECK_ENTER: frozenset({Role.EDUCATION_OFFICER}),
    Permission.RECHECK_DECIDE: frozenset({Role.REGISTRY_REVIEWER}),
    Permission.RECHECK_READ: frozenset({Role.EDUCATION_OFFICER, Role.REGISTRY_REVIEWER}),
    # The site directory is directory data, no case content: the operator keeps it (DESIGN §2),
    # and those who work one-stop cases read it to choose a site and its partners.
    Permission.ONESTOP_SITES_READ: frozenset(
        {
            Role.CASE_OFFICER,
            Role.FORENSIC_EXAMINER,
            Role.PROSECUTOR,
            Role.SUPPORT_WORKER,
            Role.ADMIN,
        }
    ),
    Permission.ONESTOP_SITES_MANAGE: frozenset({Role.ADMIN}),
    # The roles a case team is made of (MPS one-stop pilot: investigation, forensics, the
    # procuratorate and the partners attend together). The operator, oversight and the
    # registry's roles see no case content (DESIGN §2): their requests stop at the route.
    Permission.ONESTOP_CASES_READ: frozenset(
        {Role.CASE_OFFICER, Role.FORENSIC_EXAMINER, Role.PROSECUTOR, Role.SUPPORT_WORKER}
    ),
    Permission.ONESTOP_CASES_INTAKE: frozenset({Role.CASE_OFFICER}),
    Permission.ONESTOP_CASES_MANAGE: frozenset({Role.CASE_OFFICER}),
    # The child is interviewed once; a prosecutor approves a second (DESIGN §2).
    Permission.ONESTOP_INTERVIEW_APPROVE: frozenset({Role.PROSECUTOR}),
    # Evidence is collected and kept by investigators and forensic examiners (MPS one-stop
    # pilot); prosecutors and partners read it as team members but do not handle it.
    Permission.ONESTOP_EVIDENCE_RECORD: frozenset({Role.CASE_OFFICER, Role.FORENSIC_EXAMINER}),
    # The case file goes from the investigation to the procuratorate and on to the court.
    Permission.ONESTOP_EVIDENCE_EXPORT: frozenset({Role.CASE_OFFICER, Role.PROSECUTOR}),
    # MPS one-stop pilot: help starts at once, from the partners attached to the site. The
    # repository shows a referral to its case's team and to the support worker it is for.
    Permission.ONESTOP_SERVICES_REFER: frozenset({Role.CASE_OFFICER}),
    Permission.ONESTOP_SERVICES_READ: frozenset(
        {Role.CASE_OFFICER, Role.FORENSIC_EXAMINER, Role.PROSECUTOR, Role.SUPPORT_WORKER}
    ),
    Permission.ONESTOP_SERVICES_NOTE: frozenset(
        {Role.CASE_OFFICER, Role.FORENSIC_EXAMINER, Role.PROSECUTOR, Role.SUPPORT_WORKER}
    ),
    Permission.ONESTOP_SERVICES_WORK: frozenset({Role.SUPPORT_WORKER}),
    # Issue 6 item 9: the case officer hands a conviction to the registry as a draft; it is not
    # REGISTRY_SUBMIT (a case officer enters nothing else in the registry), and four eyes apply.
    Permission.ONESTOP_REGISTRY_HANDOFF: frozenset({Role.CASE_OFFICER}),
    # Site performance: oversight reads aggregates (DESIGN §2), prosecutors and case officers
    # steer the sites. Not support workers or institutions (no part in running a site), and not
    # the operator: the figures are made of case content, which admin never sees (DESIGN §2).
    Permission.ONESTOP_PERFORMANCE_READ: frozenset(
        {Role.ANALYST, Role.CASE_OFFICER, Role.PROSECUTOR}
    ),
}


def roles_with(permission: Permission) -> frozenset[Role]:
    """The roles that hold a permission."""
    return PERMISSIONS[permission]


def role_allowed_in(role: Role, org_type: OrgType) -> bool:
    """Whether users of an organisation of this type may hold this role."""
    return role in ROLES_BY_ORG_TYPE[org_type]


ROLE_LABELS: dict[str, str] = {
    Role.REGISTRY_CLERK: N_("Registry clerk"),
    Role.REGISTRY_REVIEWER: N_("Registry reviewer"),
    Role.CASE_OFFICER: N_("Case officer"),
    Role.FORENSIC_EXAMINER: N_("Forensic examiner"),
    Role.COURT_CLERK: N_("Court clerk"),
    Role.PROSECUTOR: N_("Prosecutor"),
    Role.EDUCATION_OFFICER: N_("Education officer"),
    Role.INSTITUTION_HR: N_("Institution HR"),
    Role.SUPPORT_WORKER: N_("Support worker"),
    Role.AUDITOR: N_("Auditor"),
    Role.ANALYST: N_("Analyst"),
    Role.ADMIN: N_("Administrator"),
}

ORG_TYPE_LABELS: dict[str, str] = {
    OrgType.PUBLIC_SECURITY: N_("Public security"),
    OrgType.COURT: N_("Court"),
    OrgType.PROCURATORATE: N_("Procuratorate"),
    OrgType.EDUCATION_AUTHORITY: N_("Education authority"),
    OrgType.INSTITUTION: N_("Institution"),
    OrgType.PARTNER: N_("Partner"),
    OrgType.OVERSIGHT: N_("Oversight"),
    OrgType.OPERATOR: N_("Operator"),
}

KIND_LABELS: dict[str, str] = {
    InstitutionKind.KINDERGARTEN: N_("Kindergarten"),
    InstitutionKind.PRIMARY_SCHOOL: N_("Primary school"),
    InstitutionKind.SECONDARY_SCHOOL: N_("Secondary school"),
    InstitutionKind.VOCATIONAL_SCHOOL: N_("Vocational school"),
    InstitutionKind.SPECIAL_SCHOOL: N_("Special school"),
    InstitutionKind.UNIVERSITY: N_("University"),
    InstitutionKind.TRAINING_BODY: N_("Training body"),
    InstitutionKind.CHILDCARE: N_("Childcare"),
    InstitutionKind.CARE_RESCUE: N_("Care and rescue"),
    InstitutionKind.MEDICAL: N_("Medical"),
    InstitutionKind.OTHER_CLOSE_CONTACT: N_("Other close contact with minors"),
    PartnerKind.WOMENS_FEDERATION: N_("Women's Federation"),
    PartnerKind.HOSPITAL: N_("Hospital"),
    PartnerKind.PSYCHOLOGICAL_SERVICE: N_("Psychological service"),
    PartnerKind.LEGAL_AID: N_("Legal aid"),
    PartnerKind.JUSTICE_BUREAU: N_("Justice bureau"),
}

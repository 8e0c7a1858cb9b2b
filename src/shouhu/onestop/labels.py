"""What people read for the one-stop codes: statuses, channels, roles in a case, pseudonyms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shouhu.core.i18n import N_, Label, current_language, gettext
from shouhu.onestop.models import CaseRole, CaseStatus, ChildSex, ReportingChannel
from shouhu.onestop.service_models import ReferralStatus
from shouhu.registry.policy import catalogue

STATUS_LABELS: Final = {
    CaseStatus.RECEIVED: N_("Received"),
    CaseStatus.JOINT_SESSION_SCHEDULED: N_("Joint session scheduled"),
    CaseStatus.EVIDENCE_COLLECTED: N_("Evidence collected"),
    CaseStatus.UNDER_INVESTIGATION: N_("Under investigation"),
    CaseStatus.PROSECUTED: N_("Prosecuted"),
    CaseStatus.NOT_PROSECUTED: N_("Not prosecuted"),
    CaseStatus.JUDGED: N_("Judged"),
    CaseStatus.CLOSED: N_("Closed"),
}
REFERRAL_STATUS_LABELS: Final = {
    ReferralStatus.REFERRED: N_("Referred"),
    ReferralStatus.ACCEPTED: N_("Accepted"),
    ReferralStatus.IN_PROGRESS: N_("In progress"),
    ReferralStatus.COMPLETED: N_("Completed"),
    ReferralStatus.DECLINED: N_("Declined"),
    ReferralStatus.WITHDRAWN: N_("Withdrawn"),
}
CHANNEL_LABELS: Final = {
    ReportingChannel.POLICE_REPORT: N_("Report to the police"),
    ReportingChannel.MANDATORY_REPORT_SCHOOL: N_("Mandatory report by a school"),
    ReportingChannel.MANDATORY_REPORT_HOSPITAL: N_("Mandatory report by a hospital"),
    ReportingChannel.MANDATORY_REPORT_OTHER: N_("Mandatory report by another body"),
    ReportingChannel.FAMILY: N_("Report by the family"),
}
CASE_ROLE_LABELS: Final = {
    CaseRole.LEAD_OFFICER: N_("Lead officer"),
    CaseRole.INVESTIGATOR: N_("Investigator"),
    CaseRole.FORENSIC: N_("Forensic examiner"),
    CaseRole.PROSECUTOR: N_("Prosecutor"),
    CaseRole.SUPPORT: N_("Support worker"),
    CaseRole.PSYCHOLOGIST: N_("Psychologist"),
    CaseRole.MEDICAL: N_("Medical staff"),
    CaseRole.LEGAL_AID: N_("Legal aid lawyer"),
    CaseRole.WOMENS_FEDERATION: N_("Women's Federation worker"),
}
SEX_LABELS: Final = {ChildSex.FEMALE: N_("Female"), ChildSex.MALE: N_("Male")}
FACILITY_LABELS: Final = {
    "interview_room": N_("Recorded interview room"),
    "medical_room": N_("Medical examination room"),
    "waiting_room": N_("Child-friendly waiting room"),
}

# What a refusal calls a form's field ("The field {name} is required."): the field's label, in
# the reader's language, never its code. Keys are the last part of a field's path
# ("children.0.name" → "name").
FIELD_LABELS: Final = {
    "name": N_("Name"),
    "guardian_name": N_("Guardian's name"),
    "guardian_relationship": N_("Relationship to the child"),
    "special_needs": N_("Special needs"),
    "place": N_("Place"),
    "reason": N_("Reason"),
    "body": N_("Note"),
    "person_name": N_("Guardian's name"),
    "phone": N_("Telephone"),
    "address": N_("Address"),
    "description": N_("Description"),
    "holder": N_("Holder"),
    "to_holder": N_("New holder"),
}


def coded(labels: Mapping[Any, str], code: str) -> str:
    """A code (a status, say) to name in a message: its label, translated when shown."""
    label = labels.get(code)
    return Label(label) if label else code


def field_label(field: str) -> str:
    """A field's label to name it in a message (translated when shown), or the field itself."""
    label = FIELD_LABELS.get(field.rsplit(".", 1)[-1])
    return Label(label) if label else field


def pseudonym(letter: str) -> str:
    """A child's pseudonym in the reader's language: "儿童 A", "Child A"."""
    return gettext("Child {letter}", letter=letter)


def offence_names() -> dict[str, str]:
    """The registry catalogue's offences by code, named in the reader's language."""
    chinese = current_language() == "zh_CN"
    return {
        code: offence.name_zh if chinese else offence.name_en
        for code, offence in sorted(catalogue().offences.items())
    }


def labels() -> dict[str, object]:
    """Every label a one-stop page may need."""
    return {
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "case_role_labels": CASE_ROLE_LABELS,
        "sex_labels": SEX_LABELS,
        "facility_labels": FACILITY_LABELS,
        "offence_names": offence_names(),
        "pseudonym": pseudonym,
    }

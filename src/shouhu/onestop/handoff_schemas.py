"""API shapes of the hand-off of a convicted suspect to the registry.

The input is the court's judgment and what the registry needs of the suspect that the case may
lack; the suspect's name and document come from the case. The service checks the result by the
registry's own submission rules (`RecordSubmission` and the import's checks), so a refusal names
the same fields as a registry submission does.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shouhu.registry.models import AUTHORITY_LENGTH, RecordStatus
from shouhu.registry.schemas import MAX_SENTENCE_MONTHS

HANDOFF_EXAMPLE: Final[dict[str, JsonValue]] = {
    "decision_authority": "北京市东城区人民法院",
    "decision_number": "(2026)京0101刑初456号",
    "decision_date": "2026-10-15",
    "offence": "child_molestation",
    "offence_date": "2026-03-02",
    "sentence_months": 30,
}


class HandoffIn(BaseModel):
    """The conviction of one suspect, from the court's judgment."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [HANDOFF_EXAMPLE]},
    )

    decision_authority: str = Field(max_length=AUTHORITY_LENGTH, description="The court")
    decision_number: str = Field(max_length=100, description="The judgment's number")
    decision_date: str = Field(max_length=10, description="The judgment's date, YYYY-MM-DD")
    offence: str = Field(
        default="", max_length=32, description="A registry catalogue code; blank: the case's"
    )
    offence_date: date | None = None
    sentence_months: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SENTENCE_MONTHS,
        description="Custodial sentence in months; 0 when the sentence was not custodial",
    )
    sex: str = Field(default="", max_length=1, description="M or F; blank: read from a PRC ID")
    date_of_birth: str = Field(
        default="", max_length=10, description="YYYY-MM-DD; blank: read from a PRC ID"
    )
    nationality: str = Field(
        default="", max_length=3, description="ISO 3166 alpha-3; blank: CHN for a PRC ID"
    )
    former_names: str = Field(default="", max_length=500, description="`;`-separated")
    id_type: str = Field(
        default="", max_length=16, description="Only for a suspect entered without a document"
    )
    id_number: str = Field(
        default="", max_length=40, description="Only for a suspect entered without a document"
    )


class HandoffOut(BaseModel):
    """A suspect's hand-off as the case team sees it: when, and the record's status only."""

    suspect_id: uuid.UUID
    sent_at: datetime
    sent_by: str
    record_status: RecordStatus | None = Field(
        description="draft, pending_review, returned, active…; null: the registry discarded the"
        " unfinished draft (the suspect may be sent again)"
    )

"""What a submitter may send about a record: the DESIGN §6 columns and the lifecycle's extras."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from shouhu.registry.models import AUTHORITY_LENGTH

# A sentence over a hundred years is a typing error, not a sentence.
MAX_SENTENCE_MONTHS: Final = 1200
REASON_LENGTH: Final = 2000


class RecordSubmission(BaseModel):
    """A decision about a person as its source enters it (a form, an API call).

    The subject's identity and the decision are the registry import's columns (DESIGN §6) and
    are checked by the import's own rules; `offence_date` and `sentence_months` decide whether
    the record must be sealed (Criminal Procedure Law art. 286).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(max_length=100, examples=["王小明"])
    former_names: str = Field(default="", max_length=500, description="`;`-separated")
    sex: str = Field(default="", max_length=1, examples=["M"])
    date_of_birth: str = Field(default="", max_length=10, examples=["1985-03-07"])
    nationality: str = Field(default="", max_length=3, examples=["CHN"])
    id_type: str = Field(max_length=16, examples=["prc_id"])
    id_number: str = Field(max_length=40)
    record_kind: str = Field(max_length=32, examples=["conviction"])
    offence: str = Field(max_length=32, examples=["child_molestation"])
    decision_authority: str = Field(max_length=AUTHORITY_LENGTH)
    decision_number: str = Field(max_length=100, examples=["(2025)京0105刑初123号"])
    decision_date: str = Field(max_length=10, examples=["2025-06-30"])
    offence_date: date | None = None
    sentence_months: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SENTENCE_MONTHS,
        description="Custodial sentence in months; 0 when the sentence was not custodial",
    )
    # A registry clerk enters a court's or procuratorate's decision that arrived on paper.
    received_on_paper: bool = False
    # The public security organisation whose reviewers decide; by default the one nearest the
    # submitter in the region code.
    review_organisation_id: uuid.UUID | None = None

    def import_columns(self) -> dict[str, str]:
        """The values as a registry import row (the import's validation applies as it is)."""
        return {
            "external_id": "submission",
            "name": self.name,
            "former_names": self.former_names,
            "sex": self.sex,
            "date_of_birth": self.date_of_birth,
            "nationality": self.nationality,
            "id_type": self.id_type,
            "id_number": self.id_number,
            "record_kind": self.record_kind,
            "offence": self.offence,
            "decision_authority": self.decision_authority,
            "decision_number": self.decision_number,
            "decision_date": self.decision_date,
        }


SUBJECT_COLUMNS: Final = (
    "name",
    "former_names",
    "sex",
    "date_of_birth",
    "nationality",
    "id_type",
    "id_number",
)


class Reason(BaseModel):
    """Why a record is returned, revoked or sealed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=REASON_LENGTH)

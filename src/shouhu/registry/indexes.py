"""Blind indexes of registry data: equality look-ups without plaintext (DESIGN §4)."""

from __future__ import annotations

import unicodedata
from typing import Final

from shouhu.core.crypto.blind_index import blind_index

# Blind-index domains (the HMAC message starts with the domain, so indexes never collide).
DOCUMENT_NUMBER_DOMAIN: Final = "registry:document_number"
RECORD_DOMAIN: Final = "registry:record"
IMPORT_DIGEST_DOMAIN: Final = "registry:import_digest"
INQUIRY_SUBJECT_DOMAIN: Final = "inquiry:subject"
# Brackets written around the year of a decision number: 〔2021〕, [2021], 【2021】, (2021).
_BRACKETS: Final = str.maketrans({"〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")"})


def document_number_index(number: str) -> str:
    """The blind index of a canonical document number (`RegistryDocument.number_index`)."""
    return blind_index(number, domain=DOCUMENT_NUMBER_DOMAIN)


def fold_decision_number(number: str) -> str:
    """A decision number as compared: NFKC, no spaces, one kind of bracket, capitals."""
    folded = unicodedata.normalize("NFKC", number).translate(_BRACKETS)
    return "".join(folded.split()).upper()


def record_fingerprint(kind: str, offence: str, decision_number: str) -> str:
    """The fingerprint of a record of a person: kind, offence and folded decision number."""
    return blind_index(
        f"{kind}\x1f{offence}\x1f{fold_decision_number(decision_number)}", domain=RECORD_DOMAIN
    )


def inquiry_subject_index(id_type: str, lifelong_number: str) -> str:
    """The blind index of an inquiry's candidate: document type and its lifelong number.

    The lifelong number, so a renewed permit is the same candidate (the 30-day repeat, the
    subject access report).
    """
    return blind_index(f"{id_type}\x1f{lifelong_number}", domain=INQUIRY_SUBJECT_DOMAIN)

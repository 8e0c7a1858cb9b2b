"""Imports every model module so the metadata is complete (Alembic, tests)."""

from shouhu.accounts import models as accounts_models
from shouhu.core.audit import models as audit_models
from shouhu.core.crypto import models as crypto_models
from shouhu.core.database import Base
from shouhu.onestop import evidence_models
from shouhu.onestop import handoff_models as onestop_handoff_models
from shouhu.onestop import models as onestop_models
from shouhu.onestop import service_models as onestop_service_models
from shouhu.onestop import session_models as onestop_session_models
from shouhu.registry import models as registry_models
from shouhu.screening import models as screening_models
from shouhu.screening import recheck_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "crypto_models",
    "evidence_models",
    "metadata",
    "onestop_handoff_models",
    "onestop_models",
    "onestop_service_models",
    "onestop_session_models",
    "recheck_models",
    "registry_models",
    "screening_models",
]

"""Settings read from the environment (prefix SHOUHU_), with embedded-mode defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "demo", "test", "production"]


FITTED_WEIGHTS_FILE = "match-weights.toml"


class ProductionSettingsError(ValueError):
    """A production deployment is missing a setting it must have."""


class Settings(BaseSettings):
    """Every setting Shouhu reads; see docs/operations.md for what each means."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_", extra="ignore")

    env: Environment = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    secure_cookies: bool = True
    # DESIGN §2 / issue 2: sessions end after 30 minutes idle and 12 hours in all.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # ASVS 2.2.1: 5 failures within 15 minutes lock the account until an admin unlocks it.
    lockout_failures: int = Field(default=5, ge=1)
    lockout_window_minutes: int = Field(default=15, ge=1)
    # Demo mode may waive MFA for its seeded accounts; production never does.
    mfa_waiver_allowed: bool = False
    default_language: Literal["zh_CN", "en"] = "zh_CN"
    # How often a serving process checks whether the field key was rotated elsewhere.
    keyring_refresh_seconds: int = Field(default=30, ge=1)
    api_token_default_days: int = Field(default=90, ge=1, le=366)
    # DESIGN §5: a candidate scoring this much (and whose document agrees exactly) is a hit;
    # one scoring at least the review threshold goes to a reviewer. docs/matching.md says how
    # they were chosen; bench/matching_accuracy.py measures what they give.
    match_hit_threshold: float = 20.0
    match_review_threshold: float = 10.0
    # A weights file (`shouhu registry fit-weights`); unset, `match-weights.toml` in the data
    # directory if it exists, else the stated weights.
    match_weights: Path | None = None
    # Batches of inquiries (docs/inquiries.md): the largest file accepted, the rows answered
    # per transaction, how long a runner's claim lasts without a sign of life, and whether the
    # serving process runs batches itself (embedded) or leaves them to `shouhu jobs run`.
    batch_max_bytes: int = Field(default=64_000_000, ge=1)
    batch_max_rows: int = Field(default=200_000, ge=1)
    batch_chunk_rows: int = Field(default=500, ge=1, le=10_000)
    batch_lease_seconds: int = Field(default=30, ge=2)
    batch_runner: bool = True
    # Evidence files (docs/evidence-storage.md): the largest file one upload may store. A
    # recorded interview of two hours is a few GB; 4 GiB leaves room.
    evidence_max_bytes: int = Field(default=4 * 1024**3, ge=1)
    # One-stop deadlines, in hours from a case's receipt (MPS pilot: the agencies attend at
    # once and help starts without delay; docs/onestop.md, docs/operations.md).
    onestop_joint_session_hours: int = Field(default=24, ge=1, le=24 * 30)
    onestop_service_start_hours: int = Field(default=72, ge=1, le=24 * 90)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shouhu.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        """Where the master key file is read from (and, in embedded mode, generated)."""
        return self.master_key_file or (self.data_dir / "master.key")

    @property
    def resolved_match_weights(self) -> Path | None:
        """The weights file matching uses, or None for the stated weights."""
        if self.match_weights:
            return self.match_weights
        fitted = self.data_dir / FITTED_WEIGHTS_FILE
        return fitted if fitted.is_file() else None

    @property
    def is_production(self) -> bool:
        """True when running with SHOUHU_ENV=production."""
        return self.env == "production"

    @model_validator(mode="after")
    def _production_requirements(self) -> Settings:
        # DESIGN §4: production never generates keys, never runs on SQLite, never sends
        # the session cookie in clear.
        if self.env != "production":
            return self
        missing: list[str] = []
        if self.master_key is None:
            missing.append("SHOUHU_MASTER_KEY must be set")
        if not self.database_url or self.database_url.startswith("sqlite"):
            missing.append("SHOUHU_DATABASE_URL must name a PostgreSQL database")
        if not self.secure_cookies:
            missing.append("SHOUHU_SECURE_COOKIES must not be false")
        if self.mfa_waiver_allowed:
            missing.append("SHOUHU_MFA_WAIVER_ALLOWED must not be true")
        if missing:
            raise ProductionSettingsError("; ".join(missing))
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

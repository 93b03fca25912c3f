"""The predictor's one typed Settings object, from the environment (PREDICTOR_*, MLFLOW_TRACKING_URI, MODEL_URI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.common.logs import LogLevel
from services.common.paths import VAR_DIR
from services.common.promotion_rules import (
    AUC_TOLERANCE_VARIABLE,
    DEFAULT_AUC_TOLERANCE,
    DEFAULT_TOP_PRECISION_TOLERANCE,
    TOP_PRECISION_TOLERANCE_VARIABLE,
)
from services.predictor.audit.backend import default_spill_dir


class PredictorSettings(BaseSettings):
    """Everything `churnguard serve` can be told; tests construct it directly."""

    model_config = SettingsConfigDict(env_prefix="PREDICTOR_", extra="ignore", populate_by_name=True)

    mlflow_tracking_uri: str = Field(
        "http://127.0.0.1:5000", validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri")
    )
    model_uri: str = Field("models:/churn-model@champion", validation_alias=AliasChoices("MODEL_URI", "model_uri"))
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("PREDICTOR_API_KEYS", "api_keys")
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    cache_dir: Path = VAR_DIR / "predictor" / "model-cache"
    audit_url: str | None = Field(
        None, description="sqlite:///PATH (default: var/predictor/audit.sqlite3) or postgresql://USER:PASSWORD@HOST/DB"
    )
    audit_db: Path | None = Field(None, description="deprecated: PREDICTOR_AUDIT_URL=sqlite:///PATH replaces it")
    audit_durable: bool = Field(
        True,
        description="answer only after the audit record is committed (group commit); false: committed every "
        "PREDICTOR_AUDIT_FLUSH_SECONDS, and a SIGKILL may lose the answers of the last fraction of a second",
    )
    audit_power_safe: bool = Field(
        False,
        description="a commit also survives a power loss of the host (SQLite synchronous=FULL, PostgreSQL "
        "synchronous_commit on, the spill fsynced); false: it survives any kill of the predictor",
    )
    audit_spill_dir: Path | None = Field(
        None,
        description="answered records wait here while the audit database is unreachable (default: beside "
        "the SQLite file, or var/predictor/audit-spill/HOST-PORT-DB for PostgreSQL)",
    )
    audit_spill_max_bytes: int = Field(
        512 * 1024 * 1024, ge=4096, description="past this many spilled bytes, scoring answers 503"
    )
    audit_flush_seconds: float = Field(0.2, gt=0, le=10, description="batched mode: commit this often")
    audit_max_pending: int = Field(
        100_000, ge=1, description="records waiting for the database before predictions are refused (503)"
    )
    audit_commit_timeout_seconds: float = Field(5.0, gt=0, description="durable mode: longest wait for a commit")
    audit_quota_bytes: int | None = Field(
        None,
        gt=0,
        description="PostgreSQL: the space the audit database may use; AuditDiskFilling reads its size against "
        "it (the database's disk is not on this machine). Unset: that disk is not watched, and /model says so",
    )
    audit_retention_days: int = Field(400, ge=1, description="older audit records are removed")
    drift_window: int = Field(5000, ge=10, description="the last N scored records of the served version")
    drift_min_records: int = Field(500, ge=1, description="below this many, drift is null (not enough to say)")
    drift_seconds: float = Field(60.0, gt=0, description="how long a computed drift report is reused")
    performance_margin: float = Field(
        0.05, ge=0, le=1, description="realized ROC-AUC or top-10% precision this far below training alerts"
    )
    performance_min_outcomes: int = Field(200, ge=1, description="uncontacted outcomes before the comparison counts")
    shadow_queue: int = Field(
        10_000, ge=1, description="records waiting for the challenger; past it new ones are dropped and counted"
    )
    shadow_min_outcomes: int = Field(
        200, ge=1, description="paired records with an outcome before /model/shadow gives a verdict"
    )
    shadow_auc_tolerance: float = Field(
        DEFAULT_AUC_TOLERANCE,
        ge=0,
        le=1,
        validation_alias=AliasChoices(AUC_TOLERANCE_VARIABLE, "shadow_auc_tolerance"),
        description="the gate's ROC-AUC tolerance (read from the gate's own variable): the shadow verdict's",
    )
    shadow_top_precision_tolerance: float = Field(
        DEFAULT_TOP_PRECISION_TOLERANCE,
        ge=0,
        le=1,
        validation_alias=AliasChoices(TOP_PRECISION_TOLERANCE_VARIABLE, "shadow_top_precision_tolerance"),
        description="the gate's top-10% precision tolerance (the gate's own variable): the shadow verdict's",
    )
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="keys for /admin/reload, GET /predictions/{id}, POST /outcomes; unset: PREDICTOR_API_KEYS",
    )
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    weekly_list_max_upload_bytes: int = Field(
        128 * 1024 * 1024, ge=1024, description="the /weekly-list page's upload limit (100,000 customers ~ 20 MB)"
    )
    weekly_list_dir: Path = Field(
        VAR_DIR / "predictor" / "weekly-lists", description="lists made on the page, kept a day for download"
    )
    retry_seconds: float = Field(5.0, gt=0)
    poll_seconds: float = Field(30.0, ge=0, description="how often to follow MODEL_URI; 0 turns polling off")
    require_approval: bool = Field(True, description="serve only versions tagged churnguard.approved=true")
    canary_budget_seconds: float = Field(0.5, ge=0)
    ready_cache_seconds: float = Field(2.0, ge=0)
    tracker_timeout_seconds: int = Field(10, gt=0)
    prepare_timeout_seconds: float = Field(
        300.0, gt=0, description="longest wait for a new version's download and checks (in a child process)"
    )
    prometheus_multiproc_dir: Path | None = Field(
        None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
    )
    log_level: LogLevel = "INFO"

    @property
    def audit_location(self) -> str:
        """PREDICTOR_AUDIT_URL, else the deprecated PREDICTOR_AUDIT_DB, else the embedded SQLite file."""
        if self.audit_url:
            return self.audit_url
        return f"sqlite:///{self.audit_db or VAR_DIR / 'predictor' / 'audit.sqlite3'}"

    @model_validator(mode="after")
    def _no_check_switched_off(self) -> PredictorSettings:
        if self.drift_window < self.drift_min_records:
            raise ValueError(
                f"PREDICTOR_DRIFT_WINDOW={self.drift_window} is below PREDICTOR_DRIFT_MIN_RECORDS="
                f"{self.drift_min_records}: drift would be null for ever; raise the window or lower the minimum"
            )
        return self

    @property
    def audit_spill_location(self) -> Path:
        return self.audit_spill_dir or default_spill_dir(self.audit_location, VAR_DIR)

    @field_validator("audit_url", mode="before")
    @classmethod
    def _blank_url(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

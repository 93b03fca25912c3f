"""Settings of the tracker side (training, registry, MLflow server), from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.common.paths import SHARED_DATA_FILE, VAR_DIR
from services.common.promotion_rules import DEFAULT_AUC_TOLERANCE, DEFAULT_TOP_PRECISION_TOLERANCE

OFFICIAL_DATA_SHA256 = "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"
OFFICIAL_DATA_URL = (
    "https://raw.githubusercontent.com/IBM/telco-customer-churn-on-icp4d/master/data/Telco-Customer-Churn.csv"
)


class TrackerSettings(BaseSettings):
    """Every knob of training, the registry gate and the tracking server."""

    model_config = SettingsConfigDict(env_prefix="CHURNGUARD_", extra="ignore", populate_by_name=True)

    mlflow_tracking_uri: str = Field(
        "http://127.0.0.1:5000", validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri")
    )
    data_path: Path = SHARED_DATA_FILE
    data_url: str = OFFICIAL_DATA_URL
    data_sha256: str = OFFICIAL_DATA_SHA256
    data_cache_dir: Path = VAR_DIR / "data"
    registered_model_name: str = "churn-model"
    champion_alias: str = "champion"
    promotion_auc_tolerance: float = Field(DEFAULT_AUC_TOLERANCE, ge=0, le=1)
    promotion_top_precision_tolerance: float = Field(
        DEFAULT_TOP_PRECISION_TOLERANCE,
        ge=0,
        le=1,
        description="how much worse precision in the top 10% a candidate may be",
    )
    promotion_min_auc: float = Field(0.80, ge=0, le=1, description="the floor no promoted model may be under")
    promotion_min_customers: int = Field(
        200, ge=1, description="held-out customers needed to compare a candidate with the champion"
    )
    tracker_host: str = "127.0.0.1"
    tracker_port: int = Field(5000, ge=1, le=65535)
    tracker_data_dir: Path = VAR_DIR / "mlflow"
    tracker_backend_store_uri: str | None = Field(
        None,
        description="e.g. postgresql+psycopg://USER:PASSWORD@HOST/DB for replicas; unset: SQLite in the data dir",
    )
    tracker_allowed_hosts: str = "tracker,tracker:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
    predictor_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000"],
        description="predictors that promote and rollback ask to reload (comma list of base URLs)",
    )
    api_key: SecretStr | None = Field(None, description="bearer key for the predictors' /admin/reload")
    push_timeout_seconds: float = Field(30.0, gt=0, description="a reload downloads and checks the model")

    @field_validator("predictor_urls", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

"""Settings of the tracker side (training, registry, MLflow server), from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.paths import SHARED_DATA_FILE, VAR_DIR

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
    promotion_auc_tolerance: float = Field(0.005, ge=0, le=1)
    tracker_host: str = "127.0.0.1"
    tracker_port: int = Field(5000, ge=1, le=65535)
    tracker_data_dir: Path = VAR_DIR / "mlflow"
    tracker_allowed_hosts: str = "tracker,tracker:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"

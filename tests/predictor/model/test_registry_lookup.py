"""What MODEL_URI designates, asked of a real tracker over MLflow's REST API (no MLflow client)."""

from __future__ import annotations

import pytest

from services.predictor.model.registry_lookup import NothingDesignated, RegistryError, resolve
from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker
from tests.support import free_port

pytestmark = pytest.mark.slow


def test_the_champion_alias_resolves_to_its_approved_version(tracker: Tracker, champion: ExperimentOutcome) -> None:
    target = resolve(tracker.url, "churn-model", "champion", None, timeout=5)
    assert target.version == str(champion.version)
    assert target.run_id == champion.run_id
    assert target.approved is True


def test_a_pinned_version_resolves_and_an_unknown_one_designates_nothing(
    tracker: Tracker, champion: ExperimentOutcome
) -> None:
    assert resolve(tracker.url, "churn-model", None, str(champion.version), timeout=5).version == str(champion.version)
    with pytest.raises(NothingDesignated, match="RESOURCE_DOES_NOT_EXIST|INVALID_PARAMETER_VALUE"):
        resolve(tracker.url, "churn-model", None, "9999", timeout=5)
    with pytest.raises(NothingDesignated):
        resolve(tracker.url, "churn-model", "no-such-alias", None, timeout=5)


def test_an_unreachable_registry_is_an_error_not_an_absence() -> None:
    with pytest.raises(RegistryError, match="ConnectError"):
        resolve(f"http://127.0.0.1:{free_port()}", "churn-model", "champion", None, timeout=2)

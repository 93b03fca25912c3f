"""Names the tracker writes on registry versions and the predictor reads: one spelling for both sides."""

from __future__ import annotations

# Set to "true" by `churnguard promote` and on a rollback's target: the version passed the gate.
# It guards against accidents (an alias moved by hand in the UI), not against forging the tag.
APPROVAL_TAG = "churnguard.approved"
# On the registered model: set by the first `promote` or `rollback` (and by the one-time upgrade of a registry
# made before approvals existed). Once present, nothing but those two commands approves a version.
APPROVALS_SINCE_TAG = "churnguard.approvals_since"
# On a version: when it last became the champion by decision (ISO time); the latest approved one is the
# champion a rollback or an empty predictor falls back to when the alias was moved by hand.
CHAMPION_SINCE_TAG = "champion_since"


def is_approved(tags: dict[str, str]) -> bool:
    return str(tags.get(APPROVAL_TAG, "")).lower() == "true"


# The alias `churnguard shadow VERSION` sets: the version predictors also score every record with, off the
# request path, so the data team sees how it would have answered this week's customers.
CHALLENGER_ALIAS = "challenger"
SHADOW_REASON_TAG = "churnguard.shadow_reason"
SHADOW_SINCE_TAG = "churnguard.shadow_since"

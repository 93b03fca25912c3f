"""Names the tracker writes on registry versions and the predictor reads: one spelling for both sides."""

from __future__ import annotations

# Set to "true" by `churnguard promote` and on a rollback's target: the version passed the gate.
# It guards against accidents (an alias moved by hand in the UI), not against forging the tag.
APPROVAL_TAG = "churnguard.approved"

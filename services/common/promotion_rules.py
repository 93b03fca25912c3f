"""The promotion gate's tolerances: how much worse than the champion a candidate may be. One definition for
the gate (tracker settings) and the shadow lane's verdict (predictor settings), read from the same variables."""

from __future__ import annotations

AUC_TOLERANCE_VARIABLE = "CHURNGUARD_PROMOTION_AUC_TOLERANCE"
TOP_PRECISION_TOLERANCE_VARIABLE = "CHURNGUARD_PROMOTION_TOP_PRECISION_TOLERANCE"
DEFAULT_AUC_TOLERANCE = 0.005
DEFAULT_TOP_PRECISION_TOLERANCE = 0.03

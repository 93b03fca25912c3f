"""The names of the steps of every churn pipeline: training builds them, serving looks them up."""

from __future__ import annotations

PREPROCESS_STEP = "preprocess"
CLASSIFIER_STEP = "classifier"
PIPELINE_STEPS = (PREPROCESS_STEP, CLASSIFIER_STEP)

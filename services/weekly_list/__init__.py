"""The weekly call list for the retention team: a thin client of the predictor (no ML dependency)."""

"""Where the repository and its sibling shared/ folder are, so defaults need no hard-coded absolute paths."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA_FILE = REPO_ROOT.parent / "shared" / "data" / "telco_customer_churn.csv"
VAR_DIR = REPO_ROOT / "var"

"""docs/failure-matrix.md stays honest: every test it names exists, and every drill test is named in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import REPO_ROOT

MATRIX = REPO_ROOT / "docs" / "failure-matrix.md"
TESTS = REPO_ROOT / "tests"


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def named_in(matrix: str) -> set[str]:
    return set(re.findall(r"`(test_[a-z0-9_]+)`", matrix))


def named_in_the_matrix() -> set[str]:
    return named_in(MATRIX.read_text())


def is_drill_module(path: Path) -> bool:
    return re.search(r"pytestmark = \[[^\]]*pytest\.mark\.drill", path.read_text()) is not None


def unknown_tests(matrix: str) -> set[str]:
    existing = set().union(*(functions_in(path) for path in TESTS.rglob("test_*.py")))
    return named_in(matrix) - existing


def test_every_test_the_matrix_names_exists() -> None:
    missing = unknown_tests(MATRIX.read_text())
    assert not missing, f"docs/failure-matrix.md names tests that do not exist: {sorted(missing)}"


def test_every_drill_test_is_a_row_of_the_matrix() -> None:
    drills = set().union(*(functions_in(path) for path in TESTS.rglob("test_*.py") if is_drill_module(path)))
    assert drills, "no drill module found: the marker moved?"
    absent = drills - named_in_the_matrix()
    assert not absent, f"drill tests missing from docs/failure-matrix.md: {sorted(absent)}"


def test_the_check_catches_a_row_naming_a_test_that_does_not_exist() -> None:
    invented = MATRIX.read_text() + "| a fault | x | y | z | `test_that_nobody_wrote` |\n"
    assert unknown_tests(invented) == {"test_that_nobody_wrote"}


def rows_without_a_test(matrix: str) -> list[str]:
    """Table rows (after the header) whose last column names no test function."""
    rows = [line for line in matrix.splitlines() if line.startswith("| ") and not line.startswith("| fault |")]
    return [row.split("|")[1].strip() for row in rows if not named_in(row.rstrip(" |").rsplit("|", 1)[-1])]


def test_every_row_names_its_test() -> None:
    assert not rows_without_a_test(MATRIX.read_text())


def test_the_check_catches_a_row_with_no_test() -> None:
    gap = MATRIX.read_text() + "| a known gap | x | **no test yet** | — | — |\n"
    assert rows_without_a_test(gap) == ["a known gap"]

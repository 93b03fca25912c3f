"""Every library a service's code imports is installed in its image by its requirements file.

The images install only `requirements/<service>.txt` (and their dependencies); the test venv has all of
them, so a missing pin passes every other test here and fails in the container. This follows each
service's imports from its entry modules (function-level imports too: they run) and checks every
third-party distribution is pinned in the file or required by something pinned there.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import REPO_ROOT

IMAGES = {
    "predictor": (
        ["predictor.txt"],
        ["services.predictor.server", "services.predictor.app", "services.predictor.model.prepare_version"],
    ),
    "monitor": (
        ["monitor.txt", "mailcatcher.txt", "weekly-list.txt"],
        ["services.monitor.main", "services.mailcatcher.main", "services.weekly_list.job"],
    ),
}


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_imported_library_is_installed_in_the_image(image: str) -> None:
    files, entries = IMAGES[image]
    missing = _missing([REPO_ROOT / "requirements" / name for name in files], entries)
    assert not missing, f"the {image} image does not install what its code imports: {missing}"


def test_the_check_sees_a_library_the_image_lacks(tmp_path: Path) -> None:
    """The predictor imports httpx for its registry lookup; without its pin (nothing else pulls it in)."""
    weakened = tmp_path / "predictor.txt"
    lines = (REPO_ROOT / "requirements" / "predictor.txt").read_text().splitlines()
    weakened.write_text("\n".join(line for line in lines if not line.startswith("httpx")))
    assert _missing([weakened], IMAGES["predictor"][1]) == ["httpx"]


def _missing(files: list[Path], entries: list[str]) -> list[str]:
    installed = _closure(files)
    imported = {name for entry in entries for name in _third_party_imports(entry)}
    owners = packages_distributions()
    return sorted(
        name for name in imported if not any(canonicalize_name(d) in installed for d in owners.get(name, [name]))
    )


def _closure(files: list[Path]) -> set[str]:
    """The distributions a requirements file installs: its pins with their requested extras, recursively."""
    wanted = [
        Requirement(line.split("#")[0].strip())
        for path in files
        for line in path.read_text().splitlines()
        if line.split("#")[0].strip() and not line.startswith("-")
    ]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in requires(requirement.name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in requirement.extras or {""}):
                wanted.append(dependency)
    return seen


def _third_party_imports(entry: str) -> set[str]:
    found: set[str] = set()
    pending, visited = [entry], set()
    while pending:
        module = pending.pop()
        if module in visited:
            continue
        visited.add(module)
        for name in _imports(module):
            top = name.split(".")[0]
            if top == "services":
                pending.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


@cache
def _imports(module: str) -> list[str]:
    """Module names imported anywhere in `module` (a package's __init__ and parents included)."""
    base = REPO_ROOT.joinpath(*module.split("."))
    source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    if source is None:  # `from services.x import name` where name is not a module
        return []
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = [module.rsplit(".", 1)[0]] if "." in module else []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names if node.module.startswith("services")]
    return names

"""`churnguard backup` and `churnguard restore`: what cannot be rebuilt, copied consistently while running.

- the tracker: its SQLite database through SQLite's online backup (a consistent copy while it serves)
  and its artifacts folder (the registered models);
- the audit log: SQLite's online backup, or `pg_dump` for PostgreSQL (restored with `psql`);
- the weekly list archive.
A manifest names each part with its sha256, so a restore refuses a damaged backup.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.hashing import file_sha256

MANIFEST = "manifest.json"


class BackupError(Exception):
    """Explained for the operator; nothing half-restored is left behind."""


@dataclass(frozen=True)
class Sources:
    tracker_dir: Path  # holds mlflow.db and artifacts/
    audit_url: str | None  # sqlite:///PATH or postgresql://...
    lists_dir: Path | None


def backup(sources: Sources, destination: Path) -> dict[str, Any]:
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: back up into a new folder")
    destination.mkdir(parents=True, exist_ok=True)
    database = sources.tracker_dir / "mlflow.db"
    if not database.is_file():
        raise BackupError(f"no tracker database at {database}")
    _sqlite_copy(database, destination / "tracker" / "mlflow.db")
    artifacts = sources.tracker_dir / "artifacts"
    if artifacts.is_dir():
        shutil.copytree(artifacts, destination / "tracker" / "artifacts")
    if sources.audit_url:
        _backup_audit(sources.audit_url, destination / "audit")
    if sources.lists_dir and sources.lists_dir.is_dir():
        shutil.copytree(sources.lists_dir, destination / "weekly-lists")
    manifest = {
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {
            str(p.relative_to(destination)): file_sha256(p) for p in sorted(destination.rglob("*")) if p.is_file()
        },
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def restore(source: Path, targets: Sources) -> dict[str, Any]:
    manifest = _checked_manifest(source)
    if (targets.tracker_dir / "mlflow.db").exists():
        raise BackupError(f"{targets.tracker_dir} already holds a tracker database: restore into an empty folder")
    targets.tracker_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tracker" / "mlflow.db", targets.tracker_dir / "mlflow.db")
    if (source / "tracker" / "artifacts").is_dir():
        shutil.copytree(source / "tracker" / "artifacts", targets.tracker_dir / "artifacts")
    if targets.audit_url and (source / "audit").is_dir():
        _restore_audit(source / "audit", targets.audit_url)
    if targets.lists_dir and (source / "weekly-lists").is_dir():
        shutil.copytree(source / "weekly-lists", targets.lists_dir, dirs_exist_ok=True)
    return manifest


def _checked_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = dict(json.loads((source / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise BackupError(f"{source} is not a churnguard backup (no readable {MANIFEST})") from error
    for name, digest in manifest["files"].items():
        path = source / name
        if not path.is_file() or file_sha256(path) != digest:
            raise BackupError(f"{name} is missing or damaged in {source}: nothing was restored")
    return manifest


def _backup_audit(url: str, folder: Path) -> None:
    folder.mkdir(parents=True)
    if url.startswith("sqlite:///"):
        _sqlite_copy(Path(url.removeprefix("sqlite:///")), folder / "audit.sqlite3")
        return
    dump = subprocess.run(["pg_dump", "--no-owner", "--dbname", url], capture_output=True, timeout=3600)
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {dump.stderr.decode(errors='replace').strip()}")
    (folder / "audit.sql").write_bytes(dump.stdout)


def _restore_audit(folder: Path, url: str) -> None:
    if url.startswith("sqlite:///"):
        target = Path(url.removeprefix("sqlite:///"))
        if target.exists():
            raise BackupError(f"{target} exists: restore the audit log into a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / "audit.sqlite3", target)
        return
    load = subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", url, "--file", str(folder / "audit.sql")],
        capture_output=True,
        timeout=3600,
    )
    if load.returncode != 0:
        raise BackupError(f"psql failed: {load.stderr.decode(errors='replace').strip()}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: consistent even while the owner writes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)

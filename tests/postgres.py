"""A real PostgreSQL from Debian's packages, started and stopped by the tests (as the `postgres` user when
the tests run as root, as PostgreSQL insists). Fails, never skips, when it is missing."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, "PostgreSQL is missing: scripts/system-packages.sh installs Debian's postgresql"
    return found[-1]


class Postgres:
    """One cluster in a temporary directory on a free port; `stop()` and `start()` simulate an outage."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="churnguard-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.password = secrets.token_urlsafe(16)  # a throwaway cluster on 127.0.0.1, deleted after the tests
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        password_file = self.directory / "pw"
        password_file.write_text(self.password)
        if self.as_root:
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "churnguard",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )

    @property
    def url(self) -> str:
        return f"postgresql://churnguard:{self.password}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on",
            "start",
        )

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            self._as_owner([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A fresh database on this cluster; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def _run(self, *command: str) -> None:
        done = subprocess.run(self._as_owner(list(command)), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}\n{done.stderr}"

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

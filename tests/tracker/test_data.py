"""The data loader: only the expected file, every row valid, the public copy checked before use."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.hashing import file_sha256
from services.common.paths import SHARED_DATA_FILE
from services.tracker.data import DataIntegrityError, load_training_data
from services.tracker.settings import OFFICIAL_DATA_SHA256, TrackerSettings


def tampered_copy(directory: Path) -> Path:
    """The shared file with one charge changed: same shape, different bytes."""
    text = SHARED_DATA_FILE.read_text(encoding="utf-8")
    changed = directory / "telco_customer_churn.csv"
    changed.write_text(text.replace("29.85,29.85", "29.86,29.85", 1), encoding="utf-8")
    return changed


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server publishing tmp_path, standing in for the public address."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def test_shared_copy_loads_with_every_row_validated() -> None:
    data = load_training_data(TrackerSettings())
    assert data.rows == 7043
    assert data.sha256 == OFFICIAL_DATA_SHA256
    assert data.features["TotalCharges"].isna().sum() == 11
    assert (data.features.loc[data.features["TotalCharges"].isna(), "tenure"] == 0).all()


def test_loader_refuses_a_file_whose_sha256_differs(tmp_path: Path) -> None:
    changed = tampered_copy(tmp_path)
    with pytest.raises(DataIntegrityError, match="differs from the expected"):
        load_training_data(TrackerSettings(data_path=changed))


def test_public_copy_is_downloaded_and_checked_when_shared_is_absent(
    file_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, published = file_server
    shutil.copy(SHARED_DATA_FILE, published / "churn.csv")
    cache = tmp_path / "cache"
    settings = TrackerSettings(data_path=tmp_path / "absent.csv", data_url=f"{url}/churn.csv", data_cache_dir=cache)
    data = load_training_data(settings)
    assert data.sha256 == OFFICIAL_DATA_SHA256
    assert data.path.parent == cache


def test_download_with_other_bytes_is_refused(file_server: tuple[str, Path], tmp_path: Path) -> None:
    url, published = file_server
    tampered_copy(published)
    settings = TrackerSettings(
        data_path=tmp_path / "absent.csv", data_url=f"{url}/telco_customer_churn.csv", data_cache_dir=tmp_path / "c"
    )
    with pytest.raises(DataIntegrityError, match="differs from the expected"):
        load_training_data(settings)


def test_invalid_rows_are_named_by_line(tmp_path: Path) -> None:
    lines = SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",Yes,", ",Maybe,", 1)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataIntegrityError, match="line 6"):
        load_training_data(TrackerSettings(data_path=broken, data_sha256=file_sha256(broken)))

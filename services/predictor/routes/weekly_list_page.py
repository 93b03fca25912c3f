"""The retention team's page: upload the customer export, get the ranked list (CSV or XLSX), see the rows
skipped and the model version. Plain HTML and a form; the list is built by the same code as the command
line (services/weekly_list/building.py), scored in-process through the same path as /predict/batch."""

from __future__ import annotations

import secrets
import shutil
import time
from html import escape
from pathlib import Path
from typing import Any

import orjson
from anyio import from_thread
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, HTMLResponse, Response

from services.predictor.deps import get_services_now
from services.predictor.http.auth import ApiKeyGuard
from services.predictor.http.errors import ApiError, request_id_of
from services.predictor.http.validation import parse_batch
from services.weekly_list.building import FORMATS, REASONS, ListError, Scored, WeeklyList, build, write

router = APIRouter(tags=["weekly list"])
KEEP_SECONDS = 24 * 3600
BATCH = 5000
STYLE = """body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2430}
main{max-width:56rem;margin:0 auto;padding:1.2rem}h1{font-size:1.5rem}form,.card{background:#fff;padding:1rem 1.2rem;
border-radius:.6rem;box-shadow:0 1px 2px #0002;margin:1rem 0}label{display:block;margin:.6rem 0 .2rem;font-weight:600}
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:.4rem;border:0;background:#0969da;color:#fff;cursor:pointer}
a.button{display:inline-block;margin:.3rem .6rem .3rem 0;padding:.5rem 1rem;border-radius:.4rem;background:#1a7f37;
color:#fff;text-decoration:none}table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.35rem .5rem;
border-bottom:1px solid #eaecef;text-align:left}.muted{color:#5b6472}.error{color:#cf222e;font-weight:600}"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>",
        status,
    )


FORM = """<p>Upload this week's customer export (.csv, including Excel's "CSV UTF-8", or .xlsx). You get the
customers most likely to leave, riskiest first, with the reasons and any data warnings. Invalid rows are
skipped and listed, so one bad row never stops the list.</p>
<form method="post" action="/weekly-list" enctype="multipart/form-data">
<label for="export">Customer export</label><input id="export" name="export" type="file" accept=".csv,.xlsx" required>
<label for="top">How many customers to call</label><input id="top" name="top" type="number" min="1" value="500">
<label for="format">Download as</label>
<select id="format" name="format"><option value="csv">CSV</option><option value="xlsx">Excel (.xlsx)</option></select>
<p><button id="make" type="submit">Make the list</button></p></form>"""


@router.get("/weekly-list", response_class=HTMLResponse, responses={401: {"description": "a key is needed"}})
async def weekly_list_form(request: Request) -> Response:
    """The upload form (asks for the API key, as the password, when PREDICTOR_API_KEYS is set)."""
    _page_key(request)
    return _page("Weekly call list", FORM)


@router.post("/weekly-list", response_class=HTMLResponse, responses={401: {"description": "a key is needed"}})
async def make_weekly_list(request: Request) -> Response:
    """Build the list from the uploaded export; the answer page links the files and shows skipped rows."""
    services = get_services_now(request)
    api_key_id = _page_key(request)
    form = await request.form(max_files=1, max_fields=5)
    upload, top_text, kind = form.get("export"), str(form.get("top") or "500"), str(form.get("format") or "csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page("Weekly call list", '<p class="error">Choose the export file first.</p>' + FORM, 422)
    suffix = Path(upload.filename).suffix.lower()
    if (
        suffix not in FORMATS
        or f".{kind}" not in FORMATS
        or not (top_text.isascii() and top_text.isdigit())
        or int(top_text) < 1
    ):
        message = "The export must be .csv or .xlsx, and the number of customers a whole number from 1."
        return _page("Weekly call list", f'<p class="error">{escape(message)}</p>' + FORM, 422)
    folder = _new_folder(services.settings.weekly_list_dir)
    source = folder / f"export{suffix}"
    with source.open("wb") as handle:
        shutil.copyfileobj(upload.file, handle)
    request_id = request_id_of(request)

    def score(batch: list[dict[str, Any]]) -> Scored:
        rows = parse_batch(orjson.dumps({"customers": batch}))
        answers, model = from_thread.run(services.predictions.predict, rows, api_key_id, request_id, REASONS)
        return Scored(model.reference["version"], answers)

    output = folder / f"weekly-list.{kind}"
    try:
        result = await run_in_threadpool(_build_and_write, source, int(top_text), score, output)
    except ListError as error:
        return _page("Weekly call list", f'<p class="error">{escape(str(error))}</p>' + FORM, 422)
    finally:
        source.unlink(missing_ok=True)
    return _page("Weekly call list", _result(result, folder.name, output.name))


@router.get("/weekly-list/files/{folder}/{name}", responses={401: {"description": "a key is needed"}})
async def weekly_list_file(folder: str, name: str, request: Request) -> Response:
    """A list made on the page (kept a day)."""
    services = get_services_now(request)
    _page_key(request)
    path = services.settings.weekly_list_dir / folder / name
    if not (folder.isalnum() and name.startswith("weekly-list") and "/" not in name and path.is_file()):
        raise ApiError(404, "not_found", "no such list (lists are kept a day)")
    return FileResponse(path, filename=f"churnguard-{name}")


def _page_key(request: Request) -> str | None:
    guard: ApiKeyGuard = request.app.state.guard
    return guard.check_page(request.headers.get("authorization"))


def _build_and_write(source: Path, top: int, score: Any, output: Path) -> WeeklyList:
    result = build(source, top, score, BATCH)
    write(result, output)
    return result


def _new_folder(root: Path) -> Path:
    """A private folder per upload; folders older than a day are removed."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > KEEP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    folder = root / secrets.token_hex(16)
    folder.mkdir()
    return folder


def _result(result: WeeklyList, folder: str, name: str) -> str:
    files = f'<a class="button" id="download" href="/weekly-list/files/{folder}/{name}">Download the list</a>'
    if result.rejected:
        files += f'<a class="button" href="/weekly-list/files/{folder}/weekly-list.rejected.csv">Skipped rows (CSV)</a>'
    rows = "".join(
        f"<tr><td>{r[0]}</td><td>{escape(str(r[1]))}</td><td>{r[2]:.3f}</td><td>{escape(str(r[6]))}</td>"
        f"<td>{escape(str(r[5]))}</td></tr>"
        for r in result.rows[:10]
    )
    skipped = "".join(
        f"<tr><td>{r.line}</td><td>{escape(r.customer_id)}</td><td>{escape(r.field)}</td><td>{escape(r.message)}</td></tr>"
        for r in result.rejected[:50]
    )
    plural = "" if len(result.rejected) == 1 else "s"
    skipped_block = (
        f'<h2>{len(result.rejected)} row{plural} skipped</h2><table id="skipped"><thead><tr><th>Line</th>'
        f"<th>Customer</th><th>Field</th><th>Problem</th></tr></thead><tbody>{skipped}</tbody></table>"
        if result.rejected
        else '<p id="skipped">No rows skipped.</p>'
    )
    return (
        f'<div class="card" id="summary"><p><strong>{len(result.rows)}</strong> customers to call, of '
        f'{result.scored} scored, by model version <strong id="model-version">{escape(result.version)}</strong>.</p>'
        f'{files}</div><h2>Top of the list</h2><table id="top"><thead><tr><th>#</th><th>Customer</th>'
        f"<th>Risk</th><th>Why</th><th>Warnings</th></tr></thead><tbody>{rows}</tbody></table>{skipped_block}"
        '<p><a href="/weekly-list">Make another list</a></p>'
    )

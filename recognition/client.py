"""Command-line client for the REST API: send images, a folder or a zip, follow the job, write a CSV.

    python -m recognition.client --url http://127.0.0.1:8000 [--token KEY] [--output results.csv]
                                 [--poll 0.5] [--quiet] PATH...

Only `requests`, `tqdm` and the standard library: no Django, so it runs on any machine with those two
packages (`pip install requests tqdm` and this one file). `manage.py ocr_submit` reuses `pack_paths`
and `write_csv` for a local install without HTTP.

Exit codes: 0 the job is done, 1 it failed or was cancelled, 2 the upload was refused (the API's
`detail` is printed) or the paths hold nothing to send, 3 the server could not be reached or answered
with another error (authentication, rate limit, server error), 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, TextIO

import requests
from tqdm import tqdm

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}
CSV_COLUMNS = ["name", "status", "digit", "text", "confidence", "error"]
FINISHED = {"done", "failed", "cancelled"}
SPOOL_BYTES = 32 * 1024 * 1024  # a packed zip larger than this goes to a temporary file
PAGE_SIZE = 1000
EXIT_DONE, EXIT_JOB_FAILED, EXIT_REFUSED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class ClientError(Exception):
    """A problem worth one line to the user; `exit_code` says how the command ends."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Upload:
    """What gets sent: a name (the job's name on the server), an open binary file and its size."""

    name: str
    file: BinaryIO
    size: int
    content_type: str

    def close(self) -> None:
        self.file.close()


# ---------------------------------------------------------------- packing


def is_zip_file(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def folder_images(folder: Path) -> Iterator[Path]:
    """Every image (by suffix) under `folder`, recursively, in a stable order; hidden ones skipped."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            yield path


def pack_paths(paths: Iterable[str | os.PathLike], spool_bytes: int = SPOOL_BYTES) -> Upload:
    """One file (image, zip or anything else: the server decides) is sent as it is. A folder, or
    several paths, become one zip whose member names are paths relative to where each was given:
    `folder/sub/1.png` for images in a folder, `1.png` for a loose file, `archive/...` for the members
    of a zip given among other paths. The zip is built in memory, in a temporary file past
    `spool_bytes`. Raises ClientError (exit 2) for a missing path, an empty selection or two files that
    would get the same name."""
    paths = [Path(path) for path in paths]
    if not paths:
        raise ClientError("nothing to send: give image files, folders or zips", EXIT_REFUSED)
    for path in paths:
        if not path.exists():
            raise ClientError(f"no such file or folder: {path}", EXIT_REFUSED)
    if len(paths) == 1 and paths[0].is_file():
        return _single_file(paths[0])
    name = f"{paths[0].resolve().name or 'upload'}.zip" if len(paths) == 1 else "upload.zip"
    return _packed_zip(paths, name, spool_bytes)


def _single_file(path: Path) -> Upload:
    content_type = "application/zip" if is_zip_file(path) else "application/octet-stream"
    return Upload(path.name, open(path, "rb"), path.stat().st_size, content_type)


def _packed_zip(paths: list[Path], name: str, spool_bytes: int) -> Upload:
    spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
    names: set[str] = set()
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in paths:
                _add_path(archive, path, names)
        if not names:
            raise ClientError(f"no images found in {', '.join(map(str, paths))}", EXIT_REFUSED)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return Upload(name, spool, size, "application/zip")


def _add_path(archive: zipfile.ZipFile, path: Path, names: set[str]) -> None:
    if path.is_dir():
        base = path.resolve().name
        for image in folder_images(path):
            _add_member(archive, names, f"{base}/{image.relative_to(path).as_posix()}", image)
    elif is_zip_file(path):
        _add_zip_members(archive, path, names)
    else:
        _add_member(archive, names, path.name, path)


def _add_zip_members(archive: zipfile.ZipFile, path: Path, names: set[str]) -> None:
    """A zip given among other paths: its members are copied (streamed) under the zip's stem."""
    try:
        source = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ClientError(f"corrupt zip {path}: {exc}", EXIT_REFUSED) from exc
    with source:
        for info in source.infolist():
            if info.is_dir():
                continue
            name = _claim(names, f"{path.stem}/{info.filename}")
            with source.open(info) as member, archive.open(name, "w", force_zip64=True) as target:
                while block := member.read(1024 * 1024):
                    target.write(block)


def _add_member(archive: zipfile.ZipFile, names: set[str], name: str, path: Path) -> None:
    archive.write(path, _claim(names, name))


def _claim(names: set[str], name: str) -> str:
    if name in names:
        raise ClientError(f"two files would both be named {name!r} in the upload: rename one", EXIT_REFUSED)
    names.add(name)
    return name


# ---------------------------------------------------------------- talking to the API


def make_session(token: str | None) -> requests.Session:
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    if token:
        session.headers["Authorization"] = f"Token {token}"
    return session


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def _get_json(session: requests.Session, url: str, attempts: int = 5) -> dict:
    """GET with a few retries on connection errors and 5xx (a web process restarting mid-job)."""
    for attempt in range(attempts):
        try:
            response = session.get(url, timeout=30)
        except requests.RequestException as exc:
            error = ClientError(f"cannot reach {url}: {exc}")
        else:
            if response.status_code < 500:
                break
            error = ClientError(f"GET {url}: HTTP {response.status_code}: {_detail(response)}")
        if attempt == attempts - 1:
            raise error
        time.sleep(min(2**attempt, 10))
    if response.status_code != 200:
        raise ClientError(f"GET {url}: HTTP {response.status_code}: {_detail(response)}")
    return response.json()


def submit(session: requests.Session, base_url: str, upload: Upload) -> dict:
    """POST the upload to /api/jobs/; the created job (201). A refused upload is ClientError exit 2."""
    url = f"{base_url.rstrip('/')}/api/jobs/"
    try:
        response = session.post(url, files={"file": (upload.name, upload.file, upload.content_type)}, timeout=(10, 600))
    except requests.RequestException as exc:
        raise ClientError(f"cannot reach {url}: {exc}") from exc
    if response.status_code == 400:
        raise ClientError(f"upload refused: {_detail(response)}", EXIT_REFUSED)
    if response.status_code != 201:
        raise ClientError(f"POST {url}: HTTP {response.status_code}: {_detail(response)}")
    return response.json()


def follow(session: requests.Session, job: dict, poll: float = 0.5, progress: bool = True) -> dict:
    """Poll the job until it ends, with a progress bar of processed/total on stderr; the final job."""
    with tqdm(
        total=job.get("total") or None,
        unit="img",
        desc="processed",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        while True:
            if job.get("total") and bar.total != job["total"]:
                bar.total = job["total"]
            bar.update(job.get("processed", 0) - bar.n)
            bar.set_postfix(status=job["status"], failed=job.get("failed", 0), refresh=False)
            if job["status"] in FINISHED:
                return job
            time.sleep(poll)
            job = _get_json(session, job["url"])


def fetch_results(session: requests.Session, results_url: str, page_size: int = PAGE_SIZE) -> Iterator[dict]:
    """Every result row, following the pages' `next` links."""
    separator = "&" if "?" in results_url else "?"
    url = f"{results_url}{separator}page_size={page_size}"
    while url:
        page = _get_json(session, url)
        yield from page["results"]
        url = page.get("next")


def write_csv(rows: Iterable[dict], out: TextIO) -> int:
    """Write rows as CSV with CSV_COLUMNS (None as an empty cell); the number of rows written."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def exit_code_for(status: str) -> int:
    return EXIT_DONE if status == "done" else EXIT_JOB_FAILED


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recognition.client",
        description="Send images, folders or zips to digit-ocr, wait for the job, write the results as CSV.",
        epilog="exit codes: 0 done, 1 job failed or cancelled, 2 upload refused, 3 server error or unreachable",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders (recursive) or zips")
    parser.add_argument(
        "--url",
        default=os.environ.get("DIGIT_OCR_URL", "http://127.0.0.1:8000"),
        help="the service's base URL (default $DIGIT_OCR_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("DIGIT_OCR_TOKEN"),
        help="API token (default $DIGIT_OCR_TOKEN); anonymous when absent",
    )
    parser.add_argument("--output", "-o", help="CSV file to write (default: standard output)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between status checks (default 0.5)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    session = make_session(args.token)
    upload = pack_paths(args.paths)
    try:
        job = submit(session, args.url, upload)
    finally:
        upload.close()
    print(f"job {job['id']}: {job.get('page_url', job['url'])}", file=sys.stderr)
    try:
        job = follow(session, job, poll=args.poll, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\nstopped following; the job goes on: {job['url']}", file=sys.stderr)
        return EXIT_INTERRUPTED
    rows = fetch_results(session, job["results_url"])
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            count = write_csv(rows, out)
    else:
        count = write_csv(rows, sys.stdout)
    summary = (
        f"job {job['status']}: {job.get('processed', 0)}/{job.get('total', 0)} processed, "
        f"{job.get('failed', 0)} failed, {count} rows"
    )
    print(summary + (f" written to {args.output}" if args.output else ""), file=sys.stderr)
    if job.get("error"):
        print(f"job error: {job['error']}", file=sys.stderr)
    return exit_code_for(job["status"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

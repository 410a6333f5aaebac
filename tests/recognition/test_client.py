"""The command-line client (`python -m recognition.client`) and `manage.py ocr_submit`: packing paths,
and whole runs against the live server and a real Celery worker."""

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recognition import client
from tests.factories import digit_png, digits_zip
from uploads.models import Job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def batch(tmp_path):
    """A folder with nested images (plus files that are not sent) and a zip beside it; the expected
    name -> digit of every image as the packed upload names it."""
    folder = tmp_path / "scans"
    expected = {}
    for relative, digit in {"top_5.png": 5, "a/one_3.png": 3, "a/b/two_7.png": 7, "a/b/c/deep_1.png": 1}.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(digit_png(digit, size=64))
        expected[f"scans/{relative}"] = digit
    (folder / "notes.txt").write_text("not sent: not an image suffix")
    (folder / ".hidden.png").write_bytes(digit_png(0))
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.png").write_bytes(digit_png(0))
    data, labels = digits_zip(6)
    archive = tmp_path / "more.zip"
    archive.write_bytes(data)
    expected.update({f"more/{name}": digit for name, digit in labels.items()})
    return folder, archive, expected


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def check_rows(rows: list[dict], expected: dict[str, int]) -> None:
    assert list(rows[0]) == client.CSV_COLUMNS
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == set(expected)
    assert all(row["status"] == "done" and row["error"] == "" for row in rows)
    assert all(0 <= float(row["confidence"]) <= 1 for row in rows)
    correct = sum(int(by_name[name]["digit"]) == digit for name, digit in expected.items())
    assert correct >= len(expected) - 1, f"only {correct}/{len(expected)} digits read right: {rows}"


# ---------------------------------------------------------------- packing (no server)


def members(upload: client.Upload) -> dict[str, bytes]:
    archive = zipfile.ZipFile(upload.file)
    return {name: archive.read(name) for name in archive.namelist()}


def test_folder_and_zip_are_packed_into_one_zip_with_relative_names(batch):
    folder, archive, expected = batch
    upload = client.pack_paths([folder, archive])
    try:
        assert (upload.name, upload.content_type) == ("upload.zip", "application/zip")
        assert len(upload.file.read()) == upload.size
        upload.file.seek(0)
        packed = members(upload)
        assert set(packed) == set(expected)
        assert packed["scans/a/b/two_7.png"] == (folder / "a/b/two_7.png").read_bytes()
    finally:
        upload.close()


def test_one_folder_is_named_after_it(batch):
    folder, _, _ = batch
    upload = client.pack_paths([folder])
    try:
        assert upload.name == "scans.zip"
        assert sorted(members(upload)) == [
            "scans/a/b/c/deep_1.png",
            "scans/a/b/two_7.png",
            "scans/a/one_3.png",
            "scans/top_5.png",
        ]
    finally:
        upload.close()


@pytest.mark.parametrize("name", ["seven.png", "more.zip", "notes.txt"])
def test_one_file_is_sent_as_it_is(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(digits_zip(2)[0] if name.endswith(".zip") else digit_png(7))
    upload = client.pack_paths([path])
    try:
        assert upload.name == name and upload.size == path.stat().st_size
        assert upload.file.read() == path.read_bytes()
        assert upload.content_type == ("application/zip" if name.endswith(".zip") else "application/octet-stream")
    finally:
        upload.close()


def test_large_packs_spill_to_a_temporary_file(batch):
    folder, archive, expected = batch
    upload = client.pack_paths([folder, archive], spool_bytes=1024)
    try:
        assert upload.file._rolled, "over spool_bytes the zip lives in a temporary file"
        assert set(members(upload)) == set(expected)
    finally:
        upload.close()


def test_nothing_to_send_and_clashing_names_are_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    with pytest.raises(client.ClientError, match="no images found") as refused:
        client.pack_paths([empty])
    assert refused.value.exit_code == 2
    with pytest.raises(client.ClientError, match="no such file"):
        client.pack_paths([tmp_path / "missing.png"])
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.png").write_bytes(digit_png(1))
    with pytest.raises(client.ClientError, match="both be named '1.png'"):
        client.pack_paths([tmp_path / "x" / "1.png", tmp_path / "y" / "1.png"])


def test_write_csv_leaves_missing_values_empty():
    out = io.StringIO()
    count = client.write_csv(
        [
            {"name": "a.png", "status": "done", "digit": 3, "text": "3", "confidence": 0.97, "error": "", "top": [1]},
            {"name": "b.txt", "status": "error", "digit": None, "confidence": None, "error": "not an image"},
        ],
        out,
    )
    assert count == 2
    assert out.getvalue() == (
        "name,status,digit,text,confidence,error\na.png,done,3,3,0.97,\nb.txt,error,,,,not an image\n"
    )


def test_the_client_imports_without_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import sys, recognition.client; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


# ---------------------------------------------------------------- end to end


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_client_sends_a_folder_and_a_zip_and_writes_the_csv(live_server, celery_worker_process, batch, tmp_path):
    folder, archive, expected = batch
    output = tmp_path / "results.csv"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recognition.client",
            "--url",
            live_server.url,
            "--poll",
            "0.1",
            "--output",
            str(output),
            str(folder),
            str(archive),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "processed" in done.stderr and "job done" in done.stderr, done.stderr
    check_rows(read_csv(output.read_text()), expected)
    job = Job.objects.get()
    assert (job.status, job.total, job.upload_name) == ("done", len(expected), "upload.zip")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_client_writes_csv_to_stdout_for_one_image(live_server, celery_worker_process, tmp_path, capsys):
    image = tmp_path / "seven.png"
    image.write_bytes(digit_png(7, size=64))
    assert client.main(["--url", live_server.url, "--poll", "0.1", "--quiet", str(image)]) == 0
    rows = read_csv(capsys.readouterr().out)
    check_rows(rows, {"seven.png": 7})


@pytest.mark.django_db(transaction=True)
def test_client_exits_2_with_the_detail_for_a_bad_upload(live_server, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("these are not digits")
    assert client.main(["--url", live_server.url, str(text)]) == 2
    err = capsys.readouterr().err
    assert "upload refused: not an image and not a zip" in err, err
    assert not Job.objects.exists()


def test_client_exits_3_when_the_server_cannot_be_reached(tmp_path, capsys, unused_port):
    image = tmp_path / "seven.png"
    image.write_bytes(digit_png(7))
    assert client.main(["--url", f"http://127.0.0.1:{unused_port}", str(image)]) == 3
    assert "cannot reach" in capsys.readouterr().err


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ocr_submit_waits_and_writes_the_csv(celery_worker_process, batch, tmp_path):
    folder, archive, expected = batch
    output = tmp_path / "local.csv"
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "ocr_submit",
        str(folder),
        str(archive),
        "--output",
        str(output),
        "--poll",
        "0.1",
        "--timeout",
        "120",
        stdout=out,
        stderr=err,
    )
    job = Job.objects.get()
    said = out.getvalue()
    assert f"job {job.id} queued ({len(expected)} images)" in said
    assert f"page /jobs/{job.id}/" in said
    assert f"done: {len(expected)}/{len(expected)} processed, 0 failed" in said
    assert job.status == "done" and job.owner is None
    check_rows(read_csv(output.read_text()), expected)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ocr_submit_csv_to_stdout_keeps_messages_on_stderr(celery_worker_process, tmp_path):
    image = tmp_path / "three.png"
    image.write_bytes(digit_png(3, size=64))
    out, err = io.StringIO(), io.StringIO()
    call_command("ocr_submit", str(image), "--poll", "0.1", "--timeout", "120", stdout=out, stderr=err)
    check_rows(read_csv(out.getvalue()), {"three.png": 3})
    assert "page /jobs/" in err.getvalue()


@pytest.mark.django_db
def test_ocr_submit_no_wait_only_creates_the_job(tmp_path, django_capture_on_commit_callbacks):
    image = tmp_path / "three.png"
    image.write_bytes(digit_png(3))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=False):  # nothing sent to the broker
        call_command("ocr_submit", str(image), "--no-wait", stdout=out)
    job = Job.objects.get()
    assert out.getvalue() == f"job {job.id} queued (1 images)\npage /jobs/{job.id}/\n"
    assert (job.kind, job.upload_name) == ("image", "three.png")


@pytest.mark.django_db
def test_ocr_submit_refuses_a_bad_upload_with_exit_2(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are not digits")
    with pytest.raises(CommandError, match="upload refused: not an image and not a zip") as refused:
        call_command("ocr_submit", str(text))
    assert refused.value.returncode == 2
    assert not Job.objects.exists()

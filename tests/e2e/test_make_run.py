"""Smoke test of the README's first command, as a new user runs it: `make run` builds a virtualenv from
the training lock (requirements/train.txt: the runtime lock and TensorFlow for the fine-tuning worker, no
test packages), starts Redis, the web server, a Celery worker, the training worker and beat through
scripts/run.sh, reads an uploaded image and a small zip, and stops every process it started on one Ctrl-C
(SIGINT to its process group, as a terminal sends it).

Only the ports, the database file, the media folder and the virtualenv's place differ from a user's
run, so that the test stays out of the working tree's own state."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.helpers import all_results, free_port, wait_for_job
from tests.factories import digit_png, digits_zip

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 900  # a fresh machine downloads the runtime packages first
JOB_TIMEOUT = 120

# What the test suite's own services export must not leak into the system under test.
SUITE_ONLY = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "MEDIA_ROOT",
    "STORAGE_BACKEND",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "VIRTUAL_ENV",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
]


@pytest.fixture
def make_run(tmp_path):
    """`make run` in its own session; yields (base_url, process, log path); kills what is left after."""
    web_port, redis_port = free_port(), free_port()
    env = {name: value for name, value in os.environ.items() if name not in SUITE_ONLY}
    env.update(
        VENV=str(tmp_path / "venv"),
        WEB_PORT=str(web_port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        WORKER_CONCURRENCY="1",
    )
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=as_in_a_terminal,
        )
    try:
        yield f"http://127.0.0.1:{web_port}", process, log_path
    finally:
        for pid in session_processes(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)


def session_processes(session_id: int) -> list[int]:
    """Every live process of a session (what one terminal's Ctrl-C is meant to stop)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            found.append(int(stat.parent.name))
    return found


def log_tail(log_path: Path, lines: int = 60) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def as_in_a_terminal() -> None:
    """Ctrl-C's default action, as a terminal gives it: a test run started in the background by a
    non-interactive shell inherits SIGINT ignored, and bash cannot trap a signal ignored at its start."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until_ready(base_url: str, process: subprocess.Popen, log_path: Path) -> dict:
    """Wait for /healthz to report a worker; fail at once if `make run` exits instead."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode} before serving:\n{log_tail(log_path)}")
        try:
            health = requests.get(f"{base_url}/healthz", timeout=5)
            if health.status_code == 200 and health.json()["checks"]["workers"]:
                return health.json()
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"make run did not report a worker in {STARTUP_TIMEOUT} s:\n{log_tail(log_path)}")


def quick_start_commands() -> list[str]:
    """The curl commands of the README's quick start, in order."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^## Quick start$.*?^```sh$(.*?)^```$", readme, re.M | re.S)
    assert block, "the README has no quick start block"
    return [line for line in block.group(1).splitlines() if line.startswith("curl ")]


def run_quick_start(base_url: str, folder: Path) -> list[str]:
    """Run the README's quick start as written, on this system's port, with the job id it gets back."""
    zip_data, _ = digits_zip(3)
    (folder / "digits.zip").write_bytes(zip_data)
    outputs, job_id = [], None
    for command in quick_start_commands():
        command = command.replace("http://127.0.0.1:8000", base_url)
        if job_id:
            command = command.replace("<id>", job_id)
            wait_until_done(f"{base_url}/api/jobs/{job_id}/")
        done = subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        outputs.append(done.stdout)
        job_id = job_id or json.loads(done.stdout)["id"]
    return outputs


def upload(base_url: str, name: str, data: bytes) -> dict:
    response = requests.post(f"{base_url}/api/jobs/", files={"file": (name, data)}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def wait_until_done(job_url: str) -> dict:
    job = wait_for_job(job_url, timeout=JOB_TIMEOUT)
    assert job["status"] == "done", job
    return job


def finished_results(job: dict) -> list[dict]:
    return all_results(wait_until_done(job["url"])["results_url"])


@pytest.mark.slow
def test_make_run_reads_an_image_and_a_zip_and_stops_on_one_ctrl_c(make_run):
    base_url, process, log_path = make_run
    wait_until_ready(base_url, process, log_path)

    image_job = upload(base_url, "seven.png", digit_png(7))
    zip_data, labels = digits_zip(5)
    zip_job = upload(base_url, "digits.zip", zip_data)

    [image_result] = finished_results(image_job)
    assert (image_result["status"], image_result["digit"]) == ("done", 7), image_result
    zip_results = finished_results(zip_job)
    assert {result["name"]: result["digit"] for result in zip_results} == labels, zip_results

    created, status, results, _ = run_quick_start(base_url, log_path.parent)
    assert json.loads(created)["status"] == "queued"
    assert json.loads(status)["total"] == 3
    assert [result["status"] for result in json.loads(results)["results"]] == ["done"] * 3
    assert len((log_path.parent / "results.csv").read_text().splitlines()) == 1 + 3

    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=120)  # run.sh gives its services 15 s, then kills them; a loaded machine is slow
    except subprocess.TimeoutExpired:
        pytest.fail(f"make run still running 120 s after one Ctrl-C\n{log_tail(log_path)}")
    deadline = time.monotonic() + 10
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = session_processes(process.pid)
    assert not left, f"processes left after one Ctrl-C: {left}\n{log_tail(log_path)}"

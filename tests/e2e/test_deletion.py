"""Deleting jobs on the real stack, on local disk and on S3 (moto's server): through the API, by the
retention task in a real worker, during a running expansion, and from the job page."""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

import pytest
import requests
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config import celery_app
from tests.e2e.helpers import S3_BUCKET, isolated_queues, s3_client, upload_zip, use_s3
from tests.factories import digits_zip
from uploads.models import Image, Job

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Store:
    worker_env: dict
    names: Callable[[str], list[str]]  # every stored name under a prefix, read straight from the store

    def job_files(self, job_id) -> list[str]:
        return self.names(f"jobs/{job_id}/")


@pytest.fixture(params=["local", "s3"])
def store(request, settings, tmp_path) -> Store:
    if request.param == "local":
        root = Path(settings.MEDIA_ROOT)
        return Store(
            {}, lambda prefix: sorted(str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file())
        )
    endpoint = request.getfixturevalue("s3_endpoint")
    client = s3_client(endpoint)

    def keys(prefix):
        return sorted(
            item["Key"] for item in client.list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix).get("Contents", [])
        )

    return Store(use_s3(settings, endpoint, tmp_path), keys)


@pytest.fixture
def worker(store, settings, celery_worker_factory):
    """A worker of its own on this test's store and queues, two processes (expansion beside chunks)."""
    env = {**store.worker_env, **isolated_queues(settings, f"del-{uuid.uuid4().hex[:6]}-"), "OCR_CHUNK_SIZE": "16"}
    settings.OCR_CHUNK_SIZE = 16
    return celery_worker_factory(name="deleting-worker", concurrency=2, env=env)


def auth(user) -> dict:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not so after {timeout} s")


def test_delete_and_retention_leave_nothing_of_the_job_and_spare_other_jobs(live_server, store, worker, settings):
    owner, stranger = User.objects.create_user("owner"), User.objects.create_user("stranger")
    deleted, expired = upload_zip(live_server.url, 20), upload_zip(live_server.url, 20)
    data, _ = digits_zip(20)
    kept = requests.post(
        f"{live_server.url}/api/jobs/", files={"file": ("mine.zip", data)}, headers=auth(owner), timeout=30
    ).json()
    for job in (deleted, expired, kept):
        wait_until(lambda job_id=job["id"]: Job.objects.get(id=job_id).status == "done", timeout=120, what="job done")
        assert len(store.job_files(job["id"])) == 1, "the zip, whose members the chunks read by range"

    assert requests.delete(deleted["url"], timeout=30).status_code == 204
    assert store.job_files(deleted["id"]) == []
    assert requests.delete(deleted["url"], timeout=30).status_code == 404
    assert requests.delete(kept["url"], headers=auth(stranger), timeout=30).status_code == 404

    Job.objects.filter(id=expired["id"]).update(finished_at=timezone.now() - timedelta(days=31))
    celery_app.send_task("worker.tasks.delete_expired_jobs", queue=settings.OCR_QUEUES["maintenance"])
    wait_until(lambda: not Job.objects.filter(id=expired["id"]).exists(), timeout=60, what="the expired job deleted")
    wait_until(lambda: store.job_files(expired["id"]) == [], timeout=10, what="the expired job's files deleted")

    assert len(store.job_files(kept["id"])) == 1
    results = requests.get(kept["results_url"], headers=auth(owner), timeout=10).json()["results"]
    assert len(results) == 20 and all(row["status"] == "done" for row in results)


def test_storage_report_counts_each_jobs_bytes_and_deletes_the_files_of_no_job(live_server, store, worker, capsys):
    job = upload_zip(live_server.url, 5)
    wait_until(lambda: Job.objects.get(id=job["id"]).status == "done", timeout=120, what="job done")
    orphan = f"jobs/{uuid.uuid4()}/"
    default_storage.save(f"{orphan}upload/left-behind", ContentFile(b"0123456789"))

    call_command("storage_report")
    report = capsys.readouterr().out
    assert f"job {job['id']}  1 files" in report
    assert f"orphan {orphan}  1 files  10 bytes" in report

    call_command("storage_report", "--delete-orphans", "--grace-minutes", "0")
    assert store.names(orphan) == []
    assert len(store.job_files(job["id"])) == 1


def worker_is_idle(worker) -> bool:
    """Nothing running, prefetched or waiting for a retry."""
    inspect = celery_app.control.inspect(destination=[worker.hostname], timeout=2)
    return all(
        (tasks() or {}).get(worker.hostname) == [] for tasks in (inspect.active, inspect.reserved, inspect.scheduled)
    )


def test_a_delete_during_the_expansion_leaves_no_file_written_after_it(live_server, store, worker):
    job = upload_zip(live_server.url, 1500)

    def expanding():
        state = Job.objects.get(id=job["id"])
        return state.expanded_at is None and Image.objects.filter(job_id=job["id"]).count() >= 48

    wait_until(expanding, timeout=120, what="the expansion under way")
    assert requests.delete(job["url"], timeout=60).status_code == 204

    wait_until(lambda: worker_is_idle(worker), timeout=120, what="the worker done with the deleted job")
    assert not Job.objects.filter(id=job["id"]).exists() and not Image.objects.filter(job_id=job["id"]).exists()
    assert store.job_files(job["id"]) == []
    assert "Traceback" not in worker.log_text()


def test_the_job_page_deletes_its_job_after_a_confirmation(live_server, browser_page, settings):
    data, _ = digits_zip(3)
    job = requests.post(f"{live_server.url}/api/jobs/", files={"file": ("page.zip", data)}, timeout=30).json()
    media = Path(settings.MEDIA_ROOT) / "jobs" / job["id"]
    assert any(media.rglob("*")), "the upload is stored"
    page = browser_page
    page.goto(f"{live_server.url}/jobs/{job['id']}/")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#delete")
    assert Job.objects.filter(id=job["id"]).exists(), "dismissing the confirmation deletes nothing"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    page.wait_for_url(live_server.url + "/")
    assert not Job.objects.filter(id=job["id"]).exists()
    assert not media.exists()

"""The whole path on real parts: REST upload to the live server, Redis queue, a real Celery worker
process running the committed network, results in PostgreSQL."""

import io
import time
import zipfile

import pytest
import requests

from tests.e2e.helpers import all_results, wait_for_job
from tests.factories import digits_zip, make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_zip_of_digits_is_read_by_the_worker(live_server, celery_worker_process):
    zip_bytes, labels = digits_zip(80, folder="batch/")
    archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    members = {name: archive.read(name) for name in archive.namelist()}
    members["batch/readme.txt"] = b"not an image"
    started = time.monotonic()
    response = requests.post(
        f"{live_server.url}/api/jobs/", files={"file": ("batch.zip", make_zip(members), "application/zip")}, timeout=30
    )
    assert response.status_code == 201, response.text
    created = response.json()

    job = wait_for_job(created["url"])
    elapsed = time.monotonic() - started
    print(f"\nend-to-end: {job['total']} images in {elapsed:.2f} s")

    assert job["status"] == "done"
    assert (job["total"], job["processed"], job["failed"]) == (81, 81, 1)
    assert job["finished_at"]
    results = {row["name"]: row for row in all_results(created["results_url"])}
    assert len(results) == 81
    assert "not an image" in results["batch/readme.txt"]["error"]
    digits = [results[name] for name in labels]
    assert all(row["status"] == "done" and 0 <= row["confidence"] <= 1 and len(row["top"]) == 3 for row in digits)
    assert all(row["model_version"] for row in digits)
    correct = sum(row["digit"] == labels[row["name"]] for row in digits)
    assert correct / len(labels) >= 0.95, f"accuracy {correct}/{len(labels)}"

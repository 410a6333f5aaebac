"""Scaling out on the engines the service already uses: uploads in an S3-compatible bucket (moto's
server) shared by web and worker, and several worker processes with their own node names, as on
several hosts, joining and leaving during a job."""

import os
import subprocess
import uuid

import pytest
import requests

from tests.e2e.helpers import S3_BUCKET, all_results, isolated_queues, s3_client, upload_zip, use_s3, wait_for_job
from tests.factories import digits_zip
from uploads.models import Image

pytestmark = pytest.mark.django_db(transaction=True)


def test_job_runs_on_s3_storage_with_no_shared_disk(
    live_server, celery_worker_factory, s3_endpoint, settings, tmp_path
):
    s3_env = use_s3(settings, s3_endpoint, tmp_path)
    prefix = f"s3-{uuid.uuid4().hex[:6]}-"
    celery_worker_factory(name="s3-worker", env={**s3_env, **isolated_queues(settings, prefix)})

    zip_bytes, labels = digits_zip(60, folder="s3/")
    response = requests.post(f"{live_server.url}/api/jobs/", files={"file": ("s3.zip", zip_bytes)}, timeout=30)
    assert response.status_code == 201, response.text
    job = wait_for_job(response.json()["url"], timeout=120)

    assert (job["status"], job["processed"], job["failed"]) == ("done", 60, 0)
    results = all_results(job["results_url"])
    correct = sum(row["digit"] == labels[row["name"]] for row in results)
    assert correct >= 57
    keys = [item["Key"] for item in s3_client(s3_endpoint).list_objects_v2(Bucket=S3_BUCKET)["Contents"]]
    assert sum(f"jobs/{job['id']}/" in key for key in keys) == 1, "the zip alone: chunks read its members by range"
    assert not (tmp_path / "worker-has-no-media").exists() and not (tmp_path / "web-has-no-media").exists()
    thumbnail = requests.get(live_server.url + results[0]["thumbnail_url"], timeout=10)
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/png"


def test_three_workers_share_a_job_and_workers_join_and_leave(live_server, celery_worker_factory, settings):
    env = {**isolated_queues(settings, f"scale-{uuid.uuid4().hex[:6]}-"), "OCR_CHUNK_SIZE": "64"}
    settings.OCR_CHUNK_SIZE = 64
    hosts = [celery_worker_factory(name=f"host{index}", env=env) for index in (1, 2, 3)]

    job = upload_zip(live_server.url, 3000)
    wait_for_job(job["url"], until=lambda state: state["processed"] >= 300, timeout=120)
    celery_worker_factory(name="host4", env=env)
    wait_for_job(job["url"], until=lambda state: state["processed"] >= 1200, timeout=120)
    assert hosts[0].stop(timeout=60) == 0, "warm shutdown finishes or returns its chunk"

    finished = wait_for_job(job["url"], timeout=180)
    assert (finished["status"], finished["processed"], finished["failed"]) == ("done", 3000, 0)
    workers = Image.objects.filter(job_id=job["id"]).values_list("processed_by", flat=True)
    assert len(workers) == 3000 and all(workers)
    names = {name.split("@")[0] for name in workers}
    assert {"host1", "host2", "host3"} <= names, names


def test_ensure_bucket_creates_the_bucket_once(s3_endpoint):
    env = {
        **os.environ,
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "fresh-bucket",
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    command = [".venv/bin/python", "manage.py", "ensure_bucket"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert "created" in first.stdout, first.stderr
    assert "exists" in second.stdout, second.stderr
    assert "fresh-bucket" in [bucket["Name"] for bucket in s3_client(s3_endpoint).list_buckets()["Buckets"]]

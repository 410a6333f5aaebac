"""Talking to the live server like a client would."""

import socket
import subprocess
import time

import boto3
import requests

from tests.factories import digits_zip


def upload_zip(base_url: str, count: int, *, name: str = "batch.zip") -> dict:
    data, _ = digits_zip(count)
    response = requests.post(f"{base_url}/api/jobs/", files={"file": (name, data, "application/zip")}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_job(
    url: str, *, timeout: float = 180, until=lambda job: job["status"] in {"done", "failed", "cancelled"}
) -> dict:
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = requests.get(url, timeout=10).json()
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job did not get there in {timeout} s: {job}")


def all_results(url: str) -> list[dict]:
    results, next_url = [], f"{url}?page_size=1000"
    while next_url:
        page = requests.get(next_url, timeout=10).json()
        results += page["results"]
        next_url = page["next"]
    return results


S3_BUCKET = "digit-ocr-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3_server() -> tuple[subprocess.Popen, str]:
    """moto's S3 server on a free port, answering, with the test bucket made: (process, endpoint)."""
    port = free_port()
    server = subprocess.Popen(
        [".venv/bin/moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(endpoint, timeout=5)
            break
        except requests.RequestException:  # not listening yet, or too busy starting to answer
            time.sleep(0.1)
    s3_client(endpoint).create_bucket(Bucket=S3_BUCKET)
    return server, endpoint


def s3_client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def use_s3(settings, endpoint: str, tmp_path) -> dict:
    """Store this process's files in the test bucket (pytest-django's `settings`), with a MEDIA_ROOT
    that must stay unused; returns the environment that does the same for a worker."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": S3_BUCKET,
                "endpoint_url": endpoint,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    settings.MEDIA_ROOT = tmp_path / "web-has-no-media"
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": S3_BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_S3_REGION_NAME": "us-east-1",
        "MEDIA_ROOT": str(tmp_path / "worker-has-no-media"),
    }


def isolated_queues(settings, prefix: str) -> dict:
    """Send this test's tasks to queues only its own workers consume."""
    settings.OCR_QUEUE_PREFIX = prefix
    settings.OCR_QUEUES = {kind: prefix + kind for kind in settings.OCR_QUEUES}
    return {"OCR_QUEUE_PREFIX": prefix}

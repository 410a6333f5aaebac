"""Talking to the live server like a client would."""

import time

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

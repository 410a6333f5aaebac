"""A chunk that keeps failing for a reason other than a crash: here it always runs past the soft time
limit. Celery retries it with backoff a bounded number of times, then its images get the reason as
their error and the job still ends."""

import io
import uuid

import pytest
import requests
from PIL import Image as PILImage

from tests.e2e.helpers import all_results, wait_for_job
from tests.factories import make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def slow_png(side: int = 4000) -> bytes:
    """Quick to send (it compresses to almost nothing) but slow to decode: 16 million pixels."""
    output = io.BytesIO()
    PILImage.new("L", (side, side), 255).save(output, format="PNG")
    return output.getvalue()


def test_chunk_over_its_time_limit_is_retried_then_reported(live_server, celery_worker_factory, settings):
    prefix = f"slow-{uuid.uuid4().hex[:6]}-"
    settings.OCR_QUEUE_PREFIX = prefix
    settings.OCR_QUEUES = {kind: prefix + kind for kind in settings.OCR_QUEUES}
    worker = celery_worker_factory(
        name="slow",
        env={"OCR_QUEUE_PREFIX": prefix, "CELERY_TASK_SOFT_TIME_LIMIT": "1", "CELERY_TASK_TIME_LIMIT": "60"},
    )
    members = {f"big-{index}.png": slow_png() for index in range(60)}
    response = requests.post(
        f"{live_server.url}/api/jobs/", files={"file": ("slow.zip", make_zip(members))}, timeout=60
    )
    assert response.status_code == 201, response.text

    job = wait_for_job(response.json()["url"], timeout=120)

    assert (job["status"], job["processed"], job["failed"]) == ("done", 60, 60)
    errors = {row["error"] for row in all_results(job["results_url"])}
    assert len(errors) == 1 and errors.pop().startswith("classification failed: SoftTimeLimitExceeded")
    log = worker.log_text()
    assert log.count("Retry in") == 3, "three retries, with backoff, before giving up"

"""The sweep that sends again the work of jobs whose messages are gone, against the test Redis (the
broker) and database. tests/e2e/test_faults.py restarts a real Redis under a real worker."""

from datetime import datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from uploads import broker, services
from uploads.models import Image, Job

pytestmark = pytest.mark.django_db
LONG_STALL = timedelta(seconds=300)


@pytest.fixture
def broker_client():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(broker.MEMORY_KEY)
    yield client
    client.delete(broker.MEMORY_KEY)  # the next sweep finds the real start of the test Redis again
    client.close()


@pytest.fixture
def broker_started_empty(broker_client):
    """broker_started_empty(seconds_ago): as if Redis had restarted empty that long ago."""

    def started(seconds_ago: float) -> None:
        broker_client.set(broker.MEMORY_KEY, (timezone.now() - timedelta(seconds=seconds_ago)).isoformat())

    return started


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list[int]]]:
    """The chunks the sweep sends, instead of sending them to the broker."""
    chunks = []
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: chunks.append((job_id, list(ids))))
    monkeypatch.setattr(services, "_queue_expansion", lambda job_id: pytest.fail("the job is expanded"))
    return chunks


def running_job(*, created_ago: float, moved_ago: float | None, chunk_seconds: float = 1.0) -> Job:
    """An expanded job with one chunk done (taking `chunk_seconds`) and three images still pending."""
    now = timezone.now()
    job = Job.objects.create(kind="zip", upload_name="x.zip", total=259, status="running", expanded_at=now)
    Image.objects.bulk_create(Image(job=job, position=index, name=f"{index}.png") for index in range(3))
    Job.objects.filter(id=job.id).update(
        created_at=now - timedelta(seconds=created_ago),
        progressed_at=None if moved_ago is None else now - timedelta(seconds=moved_ago),
        processed=settings.OCR_CHUNK_SIZE,
        read_seconds=chunk_seconds * 0.75,
        inference_seconds=chunk_seconds * 0.25,
    )
    return job


def pending_ids(job: Job) -> list[int]:
    return list(job.images.order_by("position").values_list("id", flat=True))


def test_work_lost_with_the_broker_is_sent_again_once(broker_started_empty, sent):
    broker_started_empty(60)
    job = running_job(created_ago=120, moved_ago=58)  # its running chunk ended after the restart
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 1
    assert sent == [(job.id, pending_ids(job))]
    # Its chunks sent again wait behind other work: standing still is no longer a reason to send them.
    Job.objects.filter(id=job.id).update(progressed_at=timezone.now() - timedelta(seconds=20))
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    assert len(sent) == 1


def test_a_job_lost_with_the_broker_waits_for_the_chunks_that_were_running(broker_started_empty, sent):
    job = running_job(created_ago=120, moved_ago=100, chunk_seconds=20)  # 2 chunk times: 40 s
    broker_started_empty(30)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    broker_started_empty(41)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 1
    assert sent == [(job.id, pending_ids(job))]


def test_a_job_lost_with_the_broker_waits_at_least_the_minimum(broker_started_empty, sent):
    running_job(created_ago=120, moved_ago=None, chunk_seconds=0.01)
    broker_started_empty(services.SETTLE_MIN_SECONDS - 2)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    broker_started_empty(services.SETTLE_MIN_SECONDS + 1)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 1


def test_a_job_still_moving_after_the_broker_restart_is_left_alone(broker_started_empty, sent):
    broker_started_empty(60)
    running_job(created_ago=120, moved_ago=1)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    assert sent == []


def test_a_job_created_after_the_broker_started_waits_for_the_stall_threshold(broker_started_empty, sent):
    broker_started_empty(60)
    job = running_job(created_ago=30, moved_ago=20)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    assert services.requeue_stalled_jobs(stalled_after=timedelta(seconds=10)) == 1
    assert sent == [(job.id, pending_ids(job))]


def test_finished_jobs_are_never_sent_again(broker_started_empty, sent):
    broker_started_empty(60)
    job = running_job(created_ago=120, moved_ago=100)
    Job.objects.filter(id=job.id).update(status="cancelled")
    assert services.requeue_stalled_jobs(stalled_after=timedelta(seconds=10)) == 0


def test_a_broker_without_the_key_started_empty_when_its_server_started(broker_client):
    uptime = broker_client.info("server")["uptime_in_seconds"]
    since = broker.memory_since()
    assert timezone.now() - timedelta(seconds=uptime + 2) < since <= timezone.now()
    assert datetime.fromisoformat(broker_client.get(broker.MEMORY_KEY).decode()) == since


def test_a_broker_that_kept_its_key_kept_its_queues(broker_client):
    kept = timezone.now() - timedelta(days=3)
    broker_client.set(broker.MEMORY_KEY, kept.isoformat())
    assert broker.memory_since() == kept


def test_an_unreachable_broker_leaves_only_the_stall_threshold(settings, sent):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert broker.memory_since() is None
    running_job(created_ago=120, moved_ago=100)
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0
    assert services.requeue_stalled_jobs(stalled_after=timedelta(seconds=60)) == 1


def test_a_job_whose_every_image_has_a_result_but_never_ended_is_ended_by_the_sweep(broker_client, sent):
    """The step that wrote its last results died before it could end the job: it stood at 100% for ever."""
    job = running_job(created_ago=900, moved_ago=600)
    job.images.update(status="done")
    Job.objects.filter(id=job.id).update(processed=job.total)
    services.requeue_stalled_jobs(stalled_after=LONG_STALL)
    job.refresh_from_db()
    assert job.status == "done" and sent == []


def test_a_job_read_again_is_not_taken_for_stalled(broker_client, sent):
    job = running_job(created_ago=900, moved_ago=600)
    job.images.update(status="done", member_offset=0, member_size=1)  # stored in the job's zip
    Job.objects.filter(id=job.id).update(processed=job.total, status="done")
    assert services.reread_job(job_id=job.id) == 3
    assert services.requeue_stalled_jobs(stalled_after=LONG_STALL) == 0


@pytest.mark.parametrize("status", ["running", "cancelled"])
def test_only_an_ended_job_is_read_again(broker_client, sent, status):
    """Over a running job a reread queues its images twice; over a cancelled one it undoes the cancel."""
    job = running_job(created_ago=900, moved_ago=1)
    job.images.filter(position=0).update(status="done")
    Job.objects.filter(id=job.id).update(status=status)
    with pytest.raises(services.JobNotEnded, match=f"the job is {status}"):
        services.reread_job(job_id=job.id)
    assert Job.objects.get(id=job.id).status == status


def test_a_callback_whose_message_was_lost_is_sent_again_once_per_stall(monkeypatch):
    """The job ended while the broker was down: its callback was never tried, and the sweep skips ended jobs."""
    queued = []
    monkeypatch.setattr(services, "_queue_callback", queued.append)
    now = timezone.now()
    job = Job.objects.create(
        kind="image", upload_name="7.png", total=1, status="done", callback_url="https://example.com/h"
    )
    Job.objects.filter(id=job.id).update(callback_status="pending", finished_at=now - timedelta(seconds=600))
    tried = Job.objects.create(
        kind="image", upload_name="8.png", total=1, status="done", callback_url="https://example.com/h"
    )
    Job.objects.filter(id=tried.id).update(
        callback_status="pending", callback_attempts=1, finished_at=now - timedelta(seconds=600)
    )
    assert services.resend_lost_callbacks(stalled_after=LONG_STALL) == 1 and queued == [job.id]
    assert services.resend_lost_callbacks(stalled_after=LONG_STALL) == 0, "not again before another stall"

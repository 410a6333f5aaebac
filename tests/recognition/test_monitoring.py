"""/healthz and /metrics on the real database, Redis and (for the worker count) a real Celery worker."""

import logging
import socket
from datetime import timedelta

import pytest
import redis
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config import celery_app
from recognition import monitoring
from uploads.models import Image, Job


@pytest.fixture(autouse=True)
def _fresh_caches():
    monitoring.reset_worker_cache()
    monitoring.reset_metrics_cache()
    yield
    monitoring.reset_worker_cache()
    monitoring.reset_metrics_cache()


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_workers(monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda timeout=1: [])


def metrics_of(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


# ---------------------------------------------------------------- /healthz


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_healthz_is_ok_with_the_real_services(client, celery_worker_process):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["workers"] >= 1
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings, closed_port, monkeypatch):
    # pytest.fail, unlike an AssertionError, passes through the view's `except Exception`.
    monkeypatch.setattr(celery_app.control, "ping", lambda **kw: pytest.fail("no ping through a dead broker"))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down: ConnectionError"), body
    assert body["checks"]["workers"] is None


@pytest.mark.django_db
def test_healthz_names_no_host_or_port_but_logs_them(client, settings, closed_port, monkeypatch, caplog):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kw: pytest.fail("no ping through a dead broker"))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    with caplog.at_level(logging.WARNING, logger="recognition.monitoring"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "down: ConnectionError"
    assert str(closed_port) not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()
    logged = [record.getMessage() for record in caplog.records if record.name == "recognition.monitoring"]
    assert any("broker" in message and f"127.0.0.1:{closed_port}" in message for message in logged), logged


@pytest.mark.django_db
def test_healthz_hides_a_failed_worker_ping_but_logs_it(client, monkeypatch, caplog):
    def ping(**kw):
        raise TimeoutError("no reply from celery@worker-7.internal")

    monkeypatch.setattr(celery_app.control, "ping", ping)
    with caplog.at_level(logging.WARNING, logger="recognition.monitoring"):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "workers": None,
        "workers_error": "down: TimeoutError",
    }
    assert "worker-7.internal" in caplog.text


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_url_is_not_redis(client, settings, no_workers):
    settings.CELERY_BROKER_URL = "memory://"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("down: ValueError")


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client, monkeypatch, no_workers, caplog):
    class Broken:
        def cursor(self):
            raise OSError("connection to db-internal:5432 refused")

    monkeypatch.setattr(monitoring, "connection", Broken())
    with caplog.at_level(logging.WARNING, logger="recognition.monitoring"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down: OSError"
    assert "db-internal" not in response.content.decode()
    assert "database" in caplog.text and "OSError: connection to db-internal:5432 refused" in caplog.text


@pytest.mark.django_db
def test_no_worker_is_reported_but_healthy(client, no_workers):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "workers": 0}}


@pytest.mark.django_db
def test_healthz_answers_only_safe_methods(client):
    assert client.post("/healthz").status_code == 405


# ---------------------------------------------------------------- /metrics


def make_job(status, *, total=0, processed=0, age=timedelta(0), finished=None) -> Job:
    job = Job.objects.create(
        kind=Job.Kind.ZIP,
        upload="jobs/x/upload/y",
        upload_name="x.zip",
        status=status,
        total=total,
        processed=processed,
        finished_at=finished,
    )
    Job.objects.filter(id=job.id).update(created_at=timezone.now() - age)
    job.refresh_from_db()
    return job


def add_images(job, latencies):
    Image.objects.bulk_create(
        Image(
            job=job,
            position=position,
            name=f"{position}.png",
            status=Image.Status.DONE,
            digit=1,
            confidence=0.9,
            processed_at=job.created_at + timedelta(seconds=seconds),
        )
        for position, seconds in enumerate(latencies)
    )


@pytest.mark.django_db
def test_metrics_show_jobs_images_latency_queues_and_workers(
    client, settings, monkeypatch, django_assert_max_num_queries
):
    now = timezone.now()
    running = make_job(Job.Status.RUNNING, total=10, processed=4, age=timedelta(seconds=30))
    add_images(running, [0.03, 0.2, 0.2, 7.0])
    done = make_job(Job.Status.DONE, total=3, processed=3, age=timedelta(minutes=10), finished=now)
    add_images(done, [1.5, 45.0, 120.0])
    old = make_job(Job.Status.DONE, total=2, processed=2, age=timedelta(hours=5), finished=now - timedelta(hours=4))
    add_images(old, [0.1, 0.1])  # processed hours ago: outside the window
    make_job(Job.Status.QUEUED, total=5)
    make_job(Job.Status.FAILED)

    queue = "test-metrics-interactive"
    settings.OCR_QUEUES = {"interactive": queue, "classify": "test-metrics-classify"}
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue, queue + "\x06\x169", "test-metrics-classify")
    broker.rpush(queue, "a", "b")
    broker.rpush(queue + "\x06\x169", "c")  # kombu's key for a message sent with priority 9
    monkeypatch.setattr(celery_app.control, "ping", lambda timeout=1: [{"w1@h": {"ok": "pong"}}, {"w2@h": {}}])
    try:
        with django_assert_max_num_queries(2):
            samples = metrics_of(client)
    finally:
        broker.delete(queue, queue + "\x06\x169")
        broker.close()

    jobs = {dict(labels)["status"]: value for (name, labels), value in samples.items() if name == "digit_ocr_jobs"}
    assert jobs == {"queued": 1, "running": 1, "done": 2, "failed": 1, "cancelled": 0}
    assert samples[("digit_ocr_images_processed_total", ())] == 4 + 3 + 2

    def bucket(le):
        return samples[("digit_ocr_image_latency_seconds_bucket", (("le", le),))]

    assert bucket("0.05") == 1
    assert bucket("0.25") == 3
    assert bucket("2.5") == 4
    assert bucket("10.0") == 5
    assert bucket("60.0") == 6
    assert bucket("+Inf") == 7
    assert samples[("digit_ocr_image_latency_seconds_count", ())] == 7
    assert samples[("digit_ocr_image_latency_seconds_sum", ())] == pytest.approx(0.03 + 0.4 + 7 + 1.5 + 45 + 120)

    assert samples[("digit_ocr_queue_depth", (("queue", queue),))] == 3
    assert samples[("digit_ocr_queue_depth", (("queue", "test-metrics-classify"),))] == 0
    assert samples[("digit_ocr_broker_up", ())] == 1
    assert samples[("digit_ocr_workers", ())] == 2


@pytest.mark.django_db
def test_worker_count_is_kept_ten_seconds(monkeypatch):
    calls = []
    monkeypatch.setattr(celery_app.control, "ping", lambda timeout=1: calls.append(timeout) or [{"w@h": {}}])
    assert [monitoring.worker_count(), monitoring.worker_count()] == [1, 1]
    assert calls == [1.0]
    assert monitoring.worker_count(max_age=0) == 1
    assert len(calls) == 2


@pytest.mark.django_db
def test_metrics_still_answer_with_the_broker_down(client, settings, closed_port, monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kw: pytest.fail("no ping through a dead broker"))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    make_job(Job.Status.QUEUED)
    samples = metrics_of(client)
    assert samples[("digit_ocr_broker_up", ())] == 0
    assert samples[("digit_ocr_jobs", (("status", "queued"),))] == 1
    assert not any(name in {"digit_ocr_queue_depth", "digit_ocr_workers"} for name, _ in samples)


@pytest.mark.django_db
def test_metrics_are_kept_a_few_seconds_per_process(client, monkeypatch, no_workers, django_assert_num_queries):
    make_job(Job.Status.QUEUED)
    first = metrics_of(client)
    make_job(Job.Status.QUEUED)
    broker_client = monitoring.broker_client
    monkeypatch.setattr(monitoring, "broker_client", lambda: pytest.fail("no Redis call within the interval"))
    with django_assert_num_queries(0):
        second = metrics_of(client)
    assert second == first
    assert first[("digit_ocr_jobs", (("status", "queued"),))] == 1

    monkeypatch.setattr(monitoring, "broker_client", broker_client)
    assert b'digit_ocr_jobs{status="queued"} 2.0' in monitoring.metrics_text(max_age=0)


# ---------------------------------------------------------------- /metrics token

TOKEN = "s3cret-scrape-token"


@pytest.mark.django_db
@override_settings(OCR_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", "Bearer s\u00e9cret"],
)
def test_metrics_refuse_a_missing_or_wrong_token(client, authorization, django_assert_num_queries):
    headers = {"Authorization": authorization} if authorization is not None else {}
    with django_assert_num_queries(0):
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"digit_ocr" not in response.content


@pytest.mark.django_db
@override_settings(OCR_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_metrics_answer_with_the_right_token(client, no_workers, scheme):
    samples = metrics_of(client, Authorization=f"{scheme} {TOKEN}")
    assert ("digit_ocr_broker_up", ()) in samples


@pytest.mark.django_db
@override_settings(OCR_METRICS_TOKEN="")
def test_metrics_are_open_without_a_token_setting(client, no_workers):
    assert ("digit_ocr_broker_up", ()) in metrics_of(client)

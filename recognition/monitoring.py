"""Health check (`GET /healthz`) and Prometheus metrics (`GET /metrics`), both computed when asked.

/healthz answers 503 only when the web process cannot do its own job: the database or the broker is
down. No Celery worker answering is reported (`"workers": 0`) but stays 200: the web still accepts
uploads, which wait in the queue until a worker comes (a load balancer must not take the web out for
that; alert on `digit_ocr_workers == 0` instead).

The answer of /healthz is public: a failed check shows only the exception's class, its message (host
names, ports) goes to the log.

/metrics is a custom collector in its own registry, evaluated at scrape time from the database and
Redis, so every web process reports the same numbers and nothing needs the multiprocess mode. The
text is kept METRICS_CACHE_SECONDS per web process, and OCR_METRICS_TOKEN, when set, is required as a
bearer token: a flood of scrapes costs one computation per interval, and none without the token.
"""

import hmac
import logging
import threading
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from config import celery_app
from uploads.models import Image, Job

BROKER_TIMEOUT = 1.0  # seconds, for the Redis ping/LLEN and the worker ping
WORKERS_CACHE_SECONDS = 10.0
METRICS_CACHE_SECONDS = 5.0
LATENCY_WINDOW = timedelta(hours=1)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_MAX_IMAGES = 100_000  # the histogram reads at most this many images of the window
# kombu's Redis transport keeps messages sent with a priority in keys "<queue>\x06\x16<priority>".
PRIORITY_KEY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- shared checks


def broker_client() -> redis.Redis:
    """A Redis client on the broker, read from the settings when called, with short timeouts."""
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
    )


def failure(check: str, exc: Exception) -> str:
    """Logs the whole error of a failed check and returns what the public answer may say: its class,
    not its message (which names internal hosts and ports)."""
    logger.warning("health check %s failed: %s: %s", check, type(exc).__name__, exc)
    return f"down: {type(exc).__name__}"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same thing here: down
        return failure("database", exc)
    return "ok"


def check_broker() -> str:
    try:
        client = broker_client()
    except Exception as exc:  # not a Redis URL
        return failure("broker", exc)
    try:
        client.ping()
    except Exception as exc:
        return failure("broker", exc)
    finally:
        client.close()
    return "ok"


_workers_lock = threading.Lock()
_workers_cache: dict = {}  # {"at": monotonic time, "count": int}, per web process


def worker_count(max_age: float = WORKERS_CACHE_SECONDS) -> int:
    """How many Celery workers answer a ping (a ping waits its whole timeout, so the count is kept
    `max_age` seconds per process). Call only with the broker up: kombu retries a dead broker."""
    with _workers_lock:
        if _workers_cache and time.monotonic() - _workers_cache["at"] < max_age:
            return _workers_cache["count"]
        replies = celery_app.control.ping(timeout=BROKER_TIMEOUT) or []
        count = sum(len(reply) for reply in replies)
        _workers_cache.update(at=time.monotonic(), count=count)
        return count


def reset_worker_cache() -> None:
    with _workers_lock:
        _workers_cache.clear()


# ---------------------------------------------------------------- /healthz


@never_cache
@require_safe
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    if checks["broker"] == "ok":
        try:
            checks["workers"] = worker_count()
        except Exception as exc:
            checks["workers"] = None
            checks["workers_error"] = failure("workers", exc)
    else:
        checks["workers"] = None  # unknown: pinging workers needs the broker
    healthy = checks["database"] == "ok" and checks["broker"] == "ok"
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)


# ---------------------------------------------------------------- /metrics


class OcrCollector:
    """Computes every metric at scrape time; a few bounded queries, whatever the size of the tables."""

    def collect(self):
        yield from self.job_metrics()
        yield self.latency_histogram()
        yield from self.broker_metrics()

    def job_metrics(self):
        """Jobs by status and images processed, both from one GROUP BY over the jobs table (the job
        counters are kept by every chunk, so the images table is not counted)."""
        rows = Job.objects.order_by().values("status").annotate(jobs=Count("id"), processed=Sum("processed"))
        by_status = {status: 0 for status in Job.Status.values}
        processed = 0
        for row in rows:
            by_status[row["status"]] = row["jobs"]
            processed += row["processed"] or 0
        jobs = GaugeMetricFamily("digit_ocr_jobs", "Jobs by status.", labels=["status"])
        for status, count in by_status.items():
            jobs.add_metric([status], count)
        yield jobs
        yield CounterMetricFamily(
            "digit_ocr_images_processed",
            "Images with a result or an error, over the jobs in the database.",
            value=processed,
        )

    def latency_histogram(self) -> HistogramMetricFamily:
        """Seconds from a job's upload to each of its images' result, over images processed in the last
        hour (a window, not a running total: use the buckets as they are, not rate())."""
        counts = latency_counts(timezone.now() - LATENCY_WINDOW)
        buckets = [(floatToGoString(bound), counts[f"le_{index}"] or 0) for index, bound in enumerate(LATENCY_BUCKETS)]
        buckets.append(("+Inf", counts["count"] or 0))
        total = counts["total"].total_seconds() if counts["total"] is not None else 0.0
        return HistogramMetricFamily(
            "digit_ocr_image_latency_seconds",
            "Seconds from upload to result of the images processed in the last hour (at most "
            f"{LATENCY_MAX_IMAGES} of them).",
            buckets=buckets,
            sum_value=total,
        )

    def broker_metrics(self):
        try:
            client = broker_client()
        except Exception:  # not a Redis URL
            client = None
        try:
            depths = queue_depths(client)
        except Exception:
            yield GaugeMetricFamily("digit_ocr_broker_up", "1 when the broker (Redis) answers.", value=0)
            return
        finally:
            if client is not None:
                client.close()
        yield GaugeMetricFamily("digit_ocr_broker_up", "1 when the broker (Redis) answers.", value=1)
        queues = GaugeMetricFamily("digit_ocr_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
        for queue, depth in depths.items():
            queues.add_metric([queue], depth)
        yield queues
        try:
            workers = worker_count()
        except Exception:
            return
        yield GaugeMetricFamily("digit_ocr_workers", "Celery workers answering a ping (kept 10 s).", value=workers)


def latency_counts(since) -> dict:
    """One aggregate query: cumulative counts per bucket (`le_<i>`), `count` and `total` (a timedelta).

    `processed_at` has no index, so the images are reached through their jobs (index on job_id):
    only jobs still running or finished inside the window can have an image processed in it. The
    LIMIT bounds the work when the window holds more than LATENCY_MAX_IMAGES images."""
    active_jobs = Job.objects.filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since)).values("id")
    latency = ExpressionWrapper(F("processed_at") - F("job__created_at"), output_field=DurationField())
    window = (
        Image.objects.filter(job_id__in=active_jobs, processed_at__gte=since)
        .order_by()
        .annotate(latency=latency)
        .values("latency")[:LATENCY_MAX_IMAGES]
    )
    buckets = {
        f"le_{index}": Count("latency", filter=Q(latency__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(LATENCY_BUCKETS)
    }
    return window.aggregate(count=Count("latency"), total=Sum("latency"), **buckets)


def queue_depths(client: redis.Redis) -> dict[str, int]:
    """LLEN of every queue in OCR_QUEUES (with kombu's priority sub-queues), in one round trip."""
    queues = list(settings.OCR_QUEUES.values())
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for suffix in PRIORITY_KEY_SUFFIXES:
            pipe.llen(queue + suffix)
    lengths = pipe.execute()
    step = len(PRIORITY_KEY_SUFFIXES)
    return {queue: sum(lengths[i * step : (i + 1) * step]) for i, queue in enumerate(queues)}


registry = CollectorRegistry()
registry.register(OcrCollector())

_metrics_lock = threading.Lock()
_metrics_cache: dict = {}  # {"at": monotonic time, "text": bytes}, per web process


def metrics_text(max_age: float = METRICS_CACHE_SECONDS) -> bytes:
    """The registry's text, computed at most once per `max_age` seconds per process. Scrapes arriving
    during a computation wait for it rather than starting their own."""
    with _metrics_lock:
        if _metrics_cache and time.monotonic() - _metrics_cache["at"] < max_age:
            return _metrics_cache["text"]
        text = generate_latest(registry)
        _metrics_cache.update(at=time.monotonic(), text=text)
        return text


def reset_metrics_cache() -> None:
    with _metrics_lock:
        _metrics_cache.clear()


def has_metrics_token(request) -> bool:
    """True when OCR_METRICS_TOKEN is empty (open, as `make run` expects) or the request carries it as
    `Authorization: Bearer <token>`."""
    expected = settings.OCR_METRICS_TOKEN
    if not expected:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
    return hmac.compare_digest(credentials.strip().encode(), expected.encode())


def unauthorized() -> HttpResponse:
    response = HttpResponse("401 Unauthorized: send Authorization: Bearer <token>\n", status=401)
    response["Content-Type"] = "text/plain; charset=utf-8"
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics(request):
    if not has_metrics_token(request):
        return unauthorized()
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)

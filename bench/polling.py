"""People watching a running job: 50 pollers of its status and first results page (part of `make bench`;
`make bench ARGS=--polling-only` runs only this, in under two minutes).

The job (10,000 images) is made in the database and its results are written while the pollers run,
a chunk at a time through the workers' own write path (`worker.services.save_results`), so that the
status changes between polls as in a real job, without the network's CPU cost on the same two cores.
Three measurements against gunicorn on the loopback interface:

- pollers: each thread does what the job page does every second: GET the status, then the first
  results page (100 rows), each with the ETag of what it last got (If-None-Match);
- saturation: threads asking for the results page again and again, without a validator (the issue's
  `wrk -c 50`): requests per second and latency;
- cost: CPU of gunicorn's processes (and of PostgreSQL) per request, over sequential requests.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time

import numpy as np
import requests

from bench import system
from bench.system import System

JOB_IMAGES = 10_000
POLLERS = 50
POLL_INTERVAL_S = 1.0
POLLING_S = 20.0
SATURATION_CONNECTIONS = 50
SATURATION_S = 10.0
SEQUENTIAL_REQUESTS = 200
PAGE_SIZE = 100
WRITE_CHUNK = 256
WRITE_RATE = 320  # images/s: the job stays running through both timed phases
TARGETS = {"p95_ms": 100, "results_page_web_cpu_ms": 5}


# --- the running job -------------------------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def create_running_job(images: int) -> str:
    """An expanded zip job whose images all wait for their result."""
    from django.utils import timezone

    from uploads.models import Image, Job

    now = timezone.now()
    job = Job.objects.create(
        kind=Job.Kind.ZIP,
        mode=Job.Mode.DIGIT,
        upload_name="polling.zip",
        total=images,
        status=Job.Status.RUNNING,
        started_at=now,
        expanded_at=now,
    )
    Image.objects.bulk_create(
        (
            Image(job=job, position=index, name=f"polling/{index:05d}.png", file=f"jobs/{job.id}/images/{index:032x}")
            for index in range(images)
        ),
        batch_size=2000,
    )
    return str(job.id)


class ResultWriter(threading.Thread):
    """Writes the job's results WRITE_CHUNK at a time, at `rate` images/s, as a worker would."""

    def __init__(self, job_id: str, rate: float):
        super().__init__(daemon=True)
        self.job_id, self.rate, self.stopped = job_id, rate, threading.Event()

    def run(self) -> None:
        from django.db import connection

        from uploads.models import Image
        from uploads.services import finish_job_if_complete
        from worker.services import digit_row, save_results

        ids = list(Image.objects.filter(job_id=self.job_id).order_by("position").values_list("id", flat=True))
        try:
            for start in range(0, len(ids), WRITE_CHUNK):
                if self.stopped.wait(WRITE_CHUNK / self.rate):
                    return
                rows = [
                    digit_row(image_id, probabilities(image_id), threshold=0.9)
                    for image_id in ids[start : start + WRITE_CHUNK]
                ]
                save_results(job_id=self.job_id, rows=rows, model_version="bench-polling")
            finish_job_if_complete(job_id=self.job_id)
        finally:
            connection.close()


def probabilities(image_id: int) -> np.ndarray:
    values = np.full(10, 0.004)
    values[image_id % 10] = 0.964
    return values


def processed(job_url: str) -> int:
    return requests.get(job_url, timeout=30).json()["processed"]


# --- clients ---------------------------------------------------------------------------------------


class Poller:
    """One person's job page: keeps the ETag of what it shows and sends it back (If-None-Match)."""

    def __init__(self):
        self.session, self.etags, self.timings = requests.Session(), {}, []

    def get(self, kind: str, url: str) -> None:
        headers = {"If-None-Match": self.etags[url]} if url in self.etags else {}
        started = time.perf_counter()
        response = self.session.get(url, headers=headers, timeout=60)
        self.timings.append((kind, time.perf_counter() - started, response.status_code))
        if response.status_code == 200 and "ETag" in response.headers:
            self.etags[url] = response.headers["ETag"]
        elif response.status_code not in (200, 304):
            raise RuntimeError(f"{url} answered {response.status_code}")

    def poll_until(self, deadline: float, job_url: str, page_url: str) -> None:
        next_poll = time.monotonic() + random.uniform(0, POLL_INTERVAL_S)  # people did not all come at once
        while next_poll < deadline:
            time.sleep(max(0.0, next_poll - time.monotonic()))
            self.get("status", job_url)
            self.get("results", page_url)
            next_poll += POLL_INTERVAL_S


def run_threads(count: int, target) -> None:
    """Run target(index) in `count` threads; re-raise the first error once all are done."""
    errors = []

    def guarded(index):
        try:
            target(index)
        except Exception as exc:  # noqa: BLE001 - reported after the other threads finish
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def latency(seconds: list[float]) -> dict:
    return {
        "requests": len(seconds),
        "p50_ms": round(1000 * float(np.percentile(seconds, 50)), 1),
        "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1),
        "max_ms": round(1000 * max(seconds), 1),
    }


def pollers(job_url: str, page_url: str) -> dict:
    clients = [Poller() for _ in range(POLLERS)]
    deadline = time.monotonic() + POLLING_S
    processed_before = processed(job_url)
    run_threads(POLLERS, lambda index: clients[index].poll_until(deadline, job_url, page_url))
    timings = [timing for client in clients for timing in client.timings]
    codes = [code for _, _, code in timings]
    return {
        "pollers": POLLERS,
        "interval_s": POLL_INTERVAL_S,
        "seconds": POLLING_S,
        "job_processed": [processed_before, processed(job_url)],
        **latency([seconds for _, seconds, _ in timings]),
        "by_kind": {
            kind: latency([seconds for name, seconds, _ in timings if name == kind]) for kind in ("status", "results")
        },
        "not_modified_share": round(codes.count(304) / len(codes), 3),
    }


def saturation(page_url: str) -> dict:
    """Requests without pause and without a validator: the most the web answers per second."""
    deadline = time.monotonic() + SATURATION_S
    timings: list[list[float]] = [[] for _ in range(SATURATION_CONNECTIONS)]

    def hammer(index):
        session = requests.Session()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            session.get(page_url, timeout=60).raise_for_status()
            timings[index].append(time.perf_counter() - started)

    started = time.monotonic()
    run_threads(SATURATION_CONNECTIONS, hammer)
    seconds = [value for thread in timings for value in thread]
    return {
        "connections": SATURATION_CONNECTIONS,
        "requests_per_s": round(len(seconds) / (time.monotonic() - started), 1),
        **latency(seconds),
    }


def cost(sys_: System, urls: list[str]) -> dict:
    """Server CPU per request, from /proc: gunicorn's process tree and PostgreSQL's."""
    session = requests.Session()
    web, database = sys_.service("web").pid, system.postmaster_pid()
    web_before = system.tree_cpu_seconds(web)
    database_before = system.tree_cpu_seconds(database) if database else 0.0
    times = []
    for url in urls:
        started = time.perf_counter()
        session.get(url, timeout=60).raise_for_status()
        times.append(time.perf_counter() - started)
    figures = {
        "median_ms": round(1000 * statistics.median(times), 2),
        "web_cpu_ms": round(1000 * (system.tree_cpu_seconds(web) - web_before) / len(urls), 2),
    }
    if database:
        figures["database_cpu_ms"] = round(1000 * (system.tree_cpu_seconds(database) - database_before) / len(urls), 2)
    return figures


# --- the measurement -------------------------------------------------------------------------------


def measure(sys_: System) -> dict:
    setup_django()
    job_id = create_running_job(JOB_IMAGES)
    job_url = f"{sys_.base_url}/api/jobs/{job_id}/"
    page_url = f"{job_url}results/?page=1&page_size={PAGE_SIZE}"
    for _ in range(10):  # lazy imports and connections of each gunicorn worker
        requests.get(page_url, timeout=60).raise_for_status()
    writer = ResultWriter(job_id, WRITE_RATE)
    writer.start()
    try:
        figures = {"job_images": JOB_IMAGES, "write_rate_images_per_s": WRITE_RATE}
        figures["pollers"] = pollers(job_url, page_url)
        figures["saturation"] = saturation(page_url)
    finally:
        writer.stopped.set()
        writer.join()
    # The same page again and again is the answer built once, shared (recognition.conditional); each
    # page of the job once is the cost of building one.
    every_page = [
        f"{job_url}results/?page={page}&page_size={PAGE_SIZE}" for page in range(1, JOB_IMAGES // PAGE_SIZE + 1)
    ]
    figures["cost"] = {
        "results_page": cost(sys_, [page_url] * SEQUENTIAL_REQUESTS),
        "results_page_built": cost(sys_, every_page),
        "status": cost(sys_, [job_url] * SEQUENTIAL_REQUESTS),
    }
    return figures


def verdict(key: str, value: float) -> str:
    return ("ok" if value <= TARGETS[key] else "MISSED") + f" (target <= {TARGETS[key]})"


def rows(figures: dict) -> list[tuple[str, str, str]]:
    poll, load, page = figures["pollers"], figures["saturation"], figures["cost"]["results_page"]
    status, built = figures["cost"]["status"], figures["cost"].get("results_page_built")
    return [
        (
            f"pollers: {poll['pollers']} x (status + results page) every {poll['interval_s']:g} s, "
            f"{figures['job_images']:,}-image running job",
            f"p50 {poll['p50_ms']:.0f} / p95 {poll['p95_ms']:.0f} / max {poll['max_ms']:.0f} ms, "
            f"{poll['requests']:,} requests, {100 * poll['not_modified_share']:.0f}% 304",
            verdict("p95_ms", poll["p95_ms"]),
        ),
        (
            "  status / results page p95",
            f"{poll['by_kind']['status']['p95_ms']:.0f} / {poll['by_kind']['results']['p95_ms']:.0f} ms",
            "",
        ),
        (
            f"results page, {load['connections']} connections without pause or validator",
            f"{load['requests_per_s']:,.0f} requests/s, p50 {load['p50_ms']:.0f} / p95 {load['p95_ms']:.0f} ms",
            "",
        ),
        (
            f"results page of {PAGE_SIZE} rows: web CPU per request (median time)",
            f"{page['web_cpu_ms']:.1f} ms ({page['median_ms']:.1f} ms), PostgreSQL {page.get('database_cpu_ms', 0):.1f} ms",
            verdict("results_page_web_cpu_ms", page["web_cpu_ms"]),
        ),
        *(
            [
                (
                    f"  each page of {PAGE_SIZE} rows built once (not shared)",
                    f"{built['web_cpu_ms']:.1f} ms ({built['median_ms']:.1f} ms), "
                    f"PostgreSQL {built.get('database_cpu_ms', 0):.1f} ms",
                    "",
                )
            ]
            if built
            else []
        ),
        (
            "status: web CPU per request (median time)",
            f"{status['web_cpu_ms']:.1f} ms ({status['median_ms']:.1f} ms)",
            "",
        ),
    ]

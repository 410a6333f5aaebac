"""Faults against real processes: a Celery worker killed mid-chunk, Redis restarted mid-job, Redis
down when an upload arrives, many uploads at once."""

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import redis
import requests
from django.utils import timezone

from tests.e2e.helpers import all_results, upload_zip, wait_for_job
from uploads.models import Image

pytestmark = pytest.mark.django_db(transaction=True)


def pool_children(worker) -> list[int]:
    output = subprocess.run(["pgrep", "-P", str(worker.proc.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in output.split()]


def assert_every_image_read_once(job: dict, total: int) -> None:
    assert job["status"] == "done"
    assert (job["total"], job["processed"], job["failed"]) == (total, total, 0)
    results = all_results(job["results_url"])
    assert len(results) == total == len({row["name"] for row in results})
    assert all(row["status"] == "done" and row["digit"] is not None for row in results)
    assert Image.objects.filter(job_id=job["id"]).count() == total


def test_worker_killed_three_times_mid_job_loses_nothing(live_server, celery_worker_process):
    job = upload_zip(live_server.url, 1000)
    killed = []
    for threshold in (1, 350, 700):
        wait_for_job(job["url"], until=lambda state, at_least=threshold: state["processed"] >= at_least, timeout=120)
        for pid in pool_children(celery_worker_process):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.3)
    assert len(killed) >= 3
    finished = wait_for_job(job["url"], timeout=180)
    assert_every_image_read_once(finished, 1000)
    log = celery_worker_process.log_text()
    assert all(f"pid:{pid} exited with 'signal 9 (SIGKILL)'" in log for pid in killed), log[-3000:]


class RestartableRedis:
    """The test Redis (from scripts/services.sh), which this test may stop and start again on its port."""

    def __init__(self, url: str):
        self.port = urlparse(url).port
        self.client = redis.Redis(port=self.port)
        self.replacement = None

    def stop(self) -> None:
        try:
            self.client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection as it succeeds
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._answers():
            time.sleep(0.05)

    def start(self) -> None:
        self.replacement = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._answers():
            time.sleep(0.05)
        assert self._answers(), "redis did not come back"

    def _answers(self) -> bool:
        try:
            return self.client.ping()
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="module")
def test_redis(redis_url):
    server = RestartableRedis(redis_url)
    yield server
    if server.replacement is not None:
        # The replacement outlives this module for the rest of the session; scripts/test.sh cannot
        # see it, so it is stopped when the session ends.
        import atexit

        atexit.register(server.replacement.terminate)


@pytest.fixture
def sweeping_worker(celery_worker_factory, tmp_path):
    """A worker that also runs beat, as `make run` runs beat beside it, with the default sweep interval
    and stall threshold: only noticing that the broker came back empty can recover work in time."""
    return celery_worker_factory(
        name="sweeper",
        env={"OCR_STALL_SECONDS": "300"},
        extra_args=["--beat", "--schedule", str(tmp_path / "beat-schedule")],
    )


# From Redis answering again to the job done: generous for a job of seconds, and well below the 300 s
# after which a job that stopped moving is swept anyway.
RECOVERY_DEADLINE = 120


def images_read(job_id: str, workers) -> int:
    """Images the workers read for the job, from their logs: a chunk logs how many pending images it read."""
    pattern = re.compile(rf"job chunk job_id={job_id} images=(\d+)")
    return sum(int(count) for worker in workers for count in pattern.findall(worker.log_text()))


def seconds_until_moving_again(job_id: str, moment) -> float:
    """From `moment` to the first result written after the longest pause that followed it."""
    written = Image.objects.filter(job_id=job_id, processed_at__gte=moment).values_list("processed_at", flat=True)
    times = [moment, *sorted(set(written))]
    _, resumed = max(zip(times, times[1:]), key=lambda pause: pause[1] - pause[0], default=(moment, moment))
    return (resumed - moment).total_seconds()


def test_redis_restarted_empty_mid_job_its_lost_work_is_sent_again_and_read_once(
    live_server, celery_worker_process, sweeping_worker, test_redis, capsys
):
    job = upload_zip(live_server.url, 1000)
    wait_for_job(job["url"], until=lambda state: state["processed"] >= 1, timeout=120)
    test_redis.stop()
    time.sleep(1)
    test_redis.start()
    back = timezone.now()
    finished = wait_for_job(job["url"], timeout=RECOVERY_DEADLINE)
    done = timezone.now()
    assert_every_image_read_once(finished, 1000)
    assert images_read(job["id"], [celery_worker_process, sweeping_worker]) == 1000
    with capsys.disabled():
        print(
            f"\nRedis restarted empty mid-job: the job moved again {seconds_until_moving_again(job['id'], back):.1f} s "
            f"after Redis answered, and was done {(done - back).total_seconds():.1f} s after"
        )


def test_upload_while_redis_is_down_is_kept_and_sent_once_it_is_back(live_server, sweeping_worker, test_redis):
    test_redis.stop()
    try:
        job = upload_zip(live_server.url, 20)
        assert job["status"] == "queued"
        time.sleep(1)
        assert requests.get(job["url"], timeout=10).json()["status"] == "queued"
    finally:
        test_redis.start()
    finished = wait_for_job(job["url"], timeout=120)
    assert_every_image_read_once(finished, 20)


def test_fifty_concurrent_uploads_all_complete(live_server, celery_worker_process):
    with ThreadPoolExecutor(max_workers=10) as pool:
        jobs = list(pool.map(lambda index: upload_zip(live_server.url, 4, name=f"{index}.zip"), range(50)))
    assert len({job["id"] for job in jobs}) == 50
    for job in jobs:
        finished = wait_for_job(job["url"], timeout=180)
        assert (finished["status"], finished["processed"], finished["failed"]) == ("done", 4, 0)

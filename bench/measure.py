"""Each measurement of the benchmark: one function per figure, returning plain dicts."""

from __future__ import annotations

import os
import statistics
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg
import requests

from bench import system
from bench.system import System
from config import settings as app_settings

POLL_SECONDS = 0.2  # big jobs: the result time comes from the database, not from the poll
LATENCY_POLL_SECONDS = 0.005
JOB_TIMEOUT_SECONDS = 3600


# --- raw model throughput (in this process) -------------------------------------------------------


def zip_members(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as archive:
        return [archive.read(name) for name in archive.namelist()]


def chunks(items, size: int):
    return [items[start : start + size] for start in range(0, len(items), size)]


def prepare_all(datas: list[bytes]) -> tuple[list[np.ndarray], float]:
    from ml.preprocess import prepare

    started = time.perf_counter()
    inputs = [prepare(data, max_pixels=app_settings.OCR_MAX_IMAGE_PIXELS) for data in datas]
    return inputs, time.perf_counter() - started


def inference_seconds(inputs: list[np.ndarray], num_threads: int) -> float:
    """What the worker does after reading: one predict_proba per chunk of OCR_CHUNK_SIZE images."""
    from ml.inference import DigitClassifier

    classifier = DigitClassifier.load(app_settings.OCR_MODEL_PATH, num_threads=num_threads)
    batches = chunks(inputs, app_settings.OCR_CHUNK_SIZE)
    classifier.predict_proba(np.stack(batches[0]))  # warm-up: allocation, XNNPACK weight packing
    started = time.perf_counter()
    for batch in batches:
        classifier.predict_proba(np.stack(batch))
    return time.perf_counter() - started


def raw_throughput(zip_path: Path) -> dict:
    inputs, prepare_s = prepare_all(zip_members(zip_path))
    count = len(inputs)
    result = {"images": count, "prepare_ms_per_image": round(1000 * prepare_s / count, 3), "by_threads": {}}
    for threads in sorted({app_settings.OCR_INFERENCE_THREADS, 2}):
        infer_s = inference_seconds(inputs, threads)
        result["by_threads"][str(threads)] = {
            "inference_images_per_s": round(count / infer_s, 1),
            "prepare_and_inference_images_per_s": round(count / (prepare_s + infer_s), 1),
        }
    result["worker_threads"] = app_settings.OCR_INFERENCE_THREADS
    return result


# --- talking to the service ------------------------------------------------------------------------


def upload(
    session: requests.Session, base_url: str, name: str, content, mode: str = "digit"
) -> tuple[dict, float, float]:
    """POST one file; returns the job, the wall-clock start (epoch s) and the request duration. The
    images hold one digit each, so jobs say `digit` unless the mode itself is measured."""
    wall, started = time.time(), time.perf_counter()
    response = session.post(f"{base_url}/api/jobs/", files={"file": (name, content)}, data={"mode": mode}, timeout=600)
    duration = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload of {name} refused: {response.status_code} {response.text[:300]}")
    return response.json(), wall, duration


def wait_done(session: requests.Session, job: dict, interval: float, sys_: System) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while job["status"] not in ("done", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job['id']} not finished after {JOB_TIMEOUT_SECONDS} s")
        time.sleep(interval)
        sys_.check_alive()
        job = session.get(job["url"], timeout=60).json()
    if job["status"] != "done":
        raise RuntimeError(f"job {job['id']} ended {job['status']}: {job.get('error')}")
    return job


def connect():
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


JOB_QUERY = """
SELECT j.total, j.processed, j.failed, j.created_at, j.started_at, j.expanded_at, j.finished_at,
       j.read_seconds, j.inference_seconds, j.write_seconds,
       min(i.processed_at) AS first_result, max(i.processed_at) AS last_result
FROM uploads_job j LEFT JOIN uploads_image i ON i.job_id = j.id
WHERE j.id = %s GROUP BY j.id
"""


def job_row(job_id: str) -> dict:
    with connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(JOB_QUERY, [job_id])
        row = cursor.fetchone()
    return {key: value.timestamp() if hasattr(value, "timestamp") else value for key, value in row.items()}


# --- CPU accounting --------------------------------------------------------------------------------


def cpu_snapshot(sys_: System) -> dict[str, float]:
    roots = {
        "worker": sys_.service("worker").pid,
        "web": sys_.service("web").pid,
        "postgres": system.postmaster_pid(),
        "redis": system.redis_pid(),
    }
    # Not a tree for this process: gunicorn and Celery are its children.
    return {
        **{name: system.tree_cpu_seconds(pid) for name, pid in roots.items() if pid},
        "bench_client": system.cpu_seconds(os.getpid()),
        "machine": system.machine_busy_seconds(),
    }


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per component; `other` is what the rest of the machine used meanwhile."""
    delta = {name: after[name] - before[name] for name in before}
    machine = delta.pop("machine")
    delta["other_processes"] = machine - sum(delta.values())
    return {name: round(value, 2) for name, value in delta.items()}


# --- end to end ------------------------------------------------------------------------------------


def zip_job(sys_: System, zip_path: Path, mode: str) -> tuple[dict, float, float]:
    """Upload the zip and wait for its job: the finished job, the upload's start (epoch s) and duration."""
    session = requests.Session()
    with open(zip_path, "rb") as content:
        job, upload_start, upload_s = upload(session, sys_.base_url, zip_path.name, content, mode)
    return wait_done(session, job, POLL_SECONDS, sys_), upload_start, upload_s


def end_to_end(sys_: System, zip_path: Path, workers: int, mode: str = "digit") -> dict:
    cpu_before = cpu_snapshot(sys_)
    job, upload_start, upload_s = zip_job(sys_, zip_path, mode)
    cpu = cpu_delta(cpu_before, cpu_snapshot(sys_))
    row = job_row(job["id"])
    return {"job_id": job["id"], "job_url": job["url"], **breakdown(row, upload_start, upload_s, workers, cpu)}


def end_to_end_from_api(sys_: System, zip_path: Path, mode: str = "digit") -> dict:
    """Upload to the job's own finished_at, as the API shows it: for a system whose database this
    process does not read (SQLite). The job ends a few milliseconds after its last result."""
    job, upload_start, upload_s = zip_job(sys_, zip_path, mode)
    seconds = datetime.fromisoformat(job["finished_at"]).timestamp() - upload_start
    return {
        "job_id": job["id"],
        "images": job["total"],
        "failed": job["failed"],
        "seconds": round(seconds, 2),
        "images_per_s": round(job["total"] / seconds, 1),
        "upload_s": round(upload_s, 2),
    }


def breakdown(row: dict, upload_start: float, upload_s: float, workers: int, cpu: dict) -> dict:
    """Wall-clock phases of one zip job, and where the worker processes spent their time."""
    total_s = row["last_result"] - upload_start
    window_s = row["last_result"] - row["created_at"]  # the workers' part, after the upload
    expand_s = row["expanded_at"] - row["started_at"]
    busy = {
        "expand": expand_s,
        "read": row["read_seconds"],
        "inference": row["inference_seconds"],
        "write": row["write_seconds"],
    }
    other_s = workers * window_s - sum(busy.values())
    return {
        "images": row["total"],
        "failed": row["failed"],
        "seconds": round(total_s, 2),
        "images_per_s": round(row["total"] / total_s, 1),
        "wall": {
            "upload_s": round(upload_s, 2),
            "expansion_s": round(row["expanded_at"] - row["created_at"], 2),
            "expansion_queue_wait_s": round(row["started_at"] - row["created_at"], 3),
            "first_result_after_upload_s": round(row["first_result"] - row["created_at"], 2),
            "after_expansion_s": round(row["last_result"] - row["expanded_at"], 2),
        },
        "worker_process_seconds": {
            **{f"{name}_s": round(value, 2) for name, value in busy.items()},
            "queueing_overhead_idle_s": round(other_s, 2),
            "capacity_s": round(workers * window_s, 2),
        },
        "cpu_seconds": cpu,
        "worker_cpu_ms_per_image": round(1000 * cpu["worker"] / row["total"], 3),
        "share_of_worker_cpu": {
            name: round(value / cpu["worker"], 3) for name, value in busy.items() if cpu.get("worker")
        },
    }


# --- single image latency --------------------------------------------------------------------------


def client_latency(sys_: System, images: list[bytes]) -> tuple[dict, list[str]]:
    """One single-image job after the other, each timed from its upload to the poll that sees it done."""
    session = requests.Session()
    latencies, upload_times, job_ids = [], [], []
    for index, data in enumerate(images):
        started = time.perf_counter()
        job, _, upload_s = upload(session, sys_.base_url, f"digit-{index}.png", data)
        wait_done(session, job, LATENCY_POLL_SECONDS, sys_)
        latencies.append(time.perf_counter() - started)
        upload_times.append(upload_s)
        job_ids.append(job["id"])
    summary = {
        "jobs": len(latencies),
        "p50_ms": round(1000 * percentile(latencies, 50), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
        "max_ms": round(1000 * max(latencies), 1),
        "upload_p50_ms": round(1000 * percentile(upload_times, 50), 1),
    }
    return summary, job_ids


def single_image_latency(sys_: System, images: list[bytes]) -> dict:
    """client_latency plus the server's part, from the PostgreSQL database."""
    summary, job_ids = client_latency(sys_, images)
    return {**summary, "created_to_result_p50_ms": round(1000 * percentile(server_side_seconds(job_ids), 50), 1)}


def server_side_seconds(job_ids: list[str]) -> list[float]:
    """Job row created -> result stored, as the database recorded it."""
    with connect() as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM i.processed_at - j.created_at) FROM uploads_job j "
            "JOIN uploads_image i ON i.job_id = j.id WHERE j.id = ANY(%s::uuid[])",
            [job_ids],
        ).fetchall()
    return [float(seconds) for (seconds,) in rows]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


# --- API reads of a big job ------------------------------------------------------------------------


def median_get_ms(session: requests.Session, url: str, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return round(1000 * statistics.median(times), 1)


def api_response_times(job_url: str, images: int) -> dict:
    session = requests.Session()
    return {
        "job_images": images,
        "job_detail_ms": median_get_ms(session, job_url),
        "results_page_1_ms": median_get_ms(session, f"{job_url}results/?page=1"),
    }


# --- memory ----------------------------------------------------------------------------------------


def memory(sys_: System) -> dict:
    worker, web = sys_.service("worker").pid, sys_.service("web").pid
    return {
        "worker": [{"pid": pid, "role": role, **system.memory_mib(pid)} for pid, role in roles(worker)],
        "web": [{"pid": pid, "role": role, **system.memory_mib(pid)} for pid, role in roles(web)],
    }


def roles(main_pid: int) -> list[tuple[int, str]]:
    return [(main_pid, "main")] + [(pid, "child") for pid in system.children(main_pid)]

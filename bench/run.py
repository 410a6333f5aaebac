"""Throughput benchmark of the whole service: `python -m bench.run --workers 2 [--scaling] [--reference]`.

Expects PostgreSQL and Redis running and DATABASE_URL, REDIS_URL, MEDIA_ROOT exported, migrations
applied (scripts/bench.sh does all that); starts gunicorn and Celery itself and stops them at the end.
Then starts them again as `make run` does by default (SQLite, 2 Celery processes) and measures that.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import images, measure, polling, report, storage, system

MAIN_SIZE = 10_000
SCALING_SIZES = (100, 1_000, 10_000)
BIG_SIZE = 50_000
SINGLE_JOBS = 200
LINES = 2_000  # pictures of lines of digits, read in number mode
MAKE_RUN_WORKERS = 2  # scripts/run.sh's WORKER_CONCURRENCY


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (--concurrency)")
    parser.add_argument("--scaling", action="store_true", help=f"add a {BIG_SIZE:,}-image job to the scaling curve")
    parser.add_argument("--reference", action="store_true", help="also write bench/results/reference.json")
    parser.add_argument("--quick", action="store_true", help="smoke test: small sizes, 20 single jobs")
    parser.add_argument("--polling-only", action="store_true", help="only the pollers' load test (bench/polling.py)")
    return parser.parse_args(argv)


def plan(args) -> dict:
    if args.quick:
        return {"sizes": (100, 1_000), "main": 1_000, "single": 20, "lines": 200}
    sizes = SCALING_SIZES + ((BIG_SIZE,) if args.scaling else ())
    return {"sizes": sizes, "main": MAIN_SIZE, "single": SINGLE_JOBS, "lines": LINES}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def handle_signals() -> None:
    """Ctrl-C and SIGTERM unwind through the `finally` that stops the services (SIGINT may arrive
    ignored when the shell started us in the background)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=system.ROOT, capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "load_before": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
    }


def new_system() -> system.System:
    port = int(subprocess.check_output([sys.executable, str(system.ROOT / "scripts" / "free_port.py")]).strip())
    log_dir = Path(tempfile.mkdtemp(prefix="logs-", dir=os.environ.get("BENCH_TMP")))
    return system.System(base_url=f"http://127.0.0.1:{port}", log_dir=log_dir)


def start_system(sys_: system.System, workers: int, env: dict[str, str] | None = None) -> None:
    log(f"starting gunicorn and {workers} Celery worker process(es); logs in {sys_.log_dir}")
    system.start_web(sys_, env)
    system.start_worker(sys_, workers, env)
    system.wait_for_web(sys_)
    system.wait_for_pool(sys_, workers)


def warm_up(sys_: system.System, zips: images.ZipCache) -> None:
    """First requests per gunicorn worker and first tasks per pool process pay for lazy imports (a
    1,000-image zip is 4 chunks: every pool process gets some)."""
    measure.client_latency(sys_, single_pngs(8))
    measure.end_to_end_from_api(sys_, zips.path(1_000))
    measure.end_to_end_from_api(sys_, zips.path(20, "lines"), mode="number")


def single_pngs(count: int) -> list[bytes]:
    return [images.single_png(index) for index in range(count)]


def on_system(zips: images.ZipCache, workers: int, measurements, env: dict[str, str] | None = None) -> dict:
    """Start gunicorn and Celery (`env`: their environment), warm up, return `measurements(system)`;
    stop them whatever happens."""
    sys_ = new_system()
    try:
        start_system(sys_, workers, env)
        warm_up(sys_, zips)
        return measurements(sys_)
    except Exception:
        for service in sys_.services:
            log(f"last lines of {service.name}:\n{service.log_tail()}")
        raise
    finally:
        log("stopping gunicorn and Celery")
        sys_.stop()


def run_service_measurements(sys_, zips, workers: int, shape: dict) -> dict:
    scaling = []
    for size in shape["sizes"]:
        log(f"end-to-end: {size:,} images")
        scaling.append(measure.end_to_end(sys_, zips.path(size), workers))
    largest = scaling[-1]
    log(f"end-to-end: {shape['main']:,} images in auto mode (the default)")
    auto = measure.end_to_end(sys_, zips.path(shape["main"]), workers, mode="auto")
    log(f"end-to-end: {shape['lines']:,} pictures of lines in number mode")
    number = measure.end_to_end(sys_, zips.path(shape["lines"], "lines"), workers, mode="number")
    log("API response times, single-image latency, memory")
    return {
        "end_to_end": next(run for run in scaling if run["images"] == shape["main"]),
        "end_to_end_auto": auto,
        "end_to_end_number": number,
        "scaling": scaling,
        "api": measure.api_response_times(largest["job_url"], largest["images"]),
        "single_image": measure.single_image_latency(sys_, single_pngs(shape["single"])),
        "memory": measure.memory(sys_),
        "storage": storage.measure(scaling),
        "polling": polling.measure(sys_),
    }


def make_run_env() -> dict[str, str]:
    """This environment with make run's database: SQLite, a fresh migrated file (storage, Redis and
    the upload rate stay the benchmark's: the default rate would refuse the single-image jobs)."""
    folder = tempfile.mkdtemp(prefix="sqlite-", dir=os.environ.get("BENCH_TMP"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3"}
    manage = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(manage, cwd=system.ROOT, env=env, check=True)
    return env


def run_make_run_measurements(sys_, zips, shape: dict) -> dict:
    """The figures of make run's defaults, timed by the client and the API (no PostgreSQL to read)."""
    main_zip = zips.path(shape["main"])
    log(f"make run's defaults: {shape['main']:,} images in digit mode, then auto mode, then single images")
    return {
        "database": "sqlite",
        "workers": MAKE_RUN_WORKERS,
        "end_to_end": measure.end_to_end_from_api(sys_, main_zip),
        "end_to_end_auto": measure.end_to_end_from_api(sys_, main_zip, mode="auto"),
        "single_image": measure.client_latency(sys_, single_pngs(shape["single"]))[0],
    }


def run(args) -> dict:
    shape = plan(args)
    results = {"timestamp": report.timestamp(), "machine": machine(), "config": config(args)}
    zips = images.ZipCache()
    try:
        log("rendering the image pool and the zips")
        main_zip = zips.path(shape["main"])
        log(f"raw model throughput on the {shape['main']:,} images")
        results["raw"] = measure.raw_throughput(main_zip)
        postgres = on_system(zips, args.workers, lambda sys_: run_service_measurements(sys_, zips, args.workers, shape))
        results.update(postgres)
        log("make run's defaults: SQLite, a fresh database")
        results["make_run"] = on_system(
            zips, MAKE_RUN_WORKERS, lambda sys_: run_make_run_measurements(sys_, zips, shape), make_run_env()
        )
    finally:
        zips.close()
    results["machine"]["load_after"] = [round(value, 2) for value in os.getloadavg()]
    add_ratios(results)
    return results


def run_polling_only() -> dict:
    results = {"timestamp": report.timestamp(), "machine": machine(), "config": {"workers": 0, "polling_only": True}}
    sys_ = new_system()
    try:
        system.start_web(sys_)
        system.wait_for_web(sys_)
        results["polling"] = polling.measure(sys_)
    finally:
        sys_.stop()
    results["machine"]["load_after"] = [round(value, 2) for value in os.getloadavg()]
    return results


def config(args) -> dict:
    from config import settings as app_settings

    return {
        "workers": args.workers,
        "chunk_size": app_settings.OCR_CHUNK_SIZE,
        "inference_threads": app_settings.OCR_INFERENCE_THREADS,
        "web": "gunicorn --workers 2 --threads 4",
        "quick": args.quick,
    }


def add_ratios(results: dict) -> None:
    raw = results["raw"]["by_threads"][str(results["raw"]["worker_threads"])]
    e2e = results["end_to_end"]["images_per_s"]
    results["ratio"] = round(e2e / raw["prepare_and_inference_images_per_s"], 3)
    results["ratio_inference_only"] = round(e2e / raw["inference_images_per_s"], 4)
    if "end_to_end_auto" in results:
        results["auto_over_digit"] = round(results["end_to_end_auto"]["images_per_s"] / e2e, 3)
    if "make_run" in results:
        results["make_run_over_bench"] = round(results["make_run"]["end_to_end"]["images_per_s"] / e2e, 3)


def main(argv=None) -> int:
    handle_signals()
    args = parse_args(argv)
    results = run_polling_only() if args.polling_only else run(args)
    print(report.render(results), flush=True)
    for path in report.write(results, args.reference):
        log(f"wrote {path.relative_to(system.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

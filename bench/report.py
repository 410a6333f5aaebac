"""The benchmark's one table (figures next to their targets) and its JSON file."""

from __future__ import annotations

import json
import operator
from datetime import datetime, timezone
from pathlib import Path

from bench import polling, storage

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Issue 20's targets: ratios are against figures of the same run.
TARGETS = {
    "e2e_10000_images_per_s": (">=", 1500),
    "e2e_over_inference": (">=", 0.2),  # end to end / the network alone, worker's thread setting
    "auto_over_digit": (">=", 0.8),
    "worker_cpu_ms_per_image": ("<=", 1.0),
    "number_lines_per_s": (">=", 500),
    "make_run_over_bench": (">=", 0.7),  # make run's defaults (SQLite) / make bench (PostgreSQL), digit mode
    "single_p50_ms": ("<=", 40),  # both systems
    "single_p95_ms": ("<=", 100),
    "api_ms": ("<", 50),  # status and first results page of the largest job (50,000 images with --scaling)
    "worker_rss_mib": ("<=", 400),
}
COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


def verdict(key: str, value: float) -> str:
    op, bound = TARGETS[key]
    return ("ok" if COMPARE[op](value, bound) else "MISSED") + f" (target {op} {bound:,})"


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(figure, value, target) rows, in reading order."""
    if "raw" not in results:  # make bench ARGS=--polling-only
        return polling.rows(results["polling"])
    raw, e2e = results["raw"], results["end_to_end"]
    out = [("raw: prepare, ms per image", f"{raw['prepare_ms_per_image']:.2f}", "")]
    for threads, figures in raw["by_threads"].items():
        mark = " (worker setting)" if int(threads) == raw["worker_threads"] else ""
        out.append(
            (f"raw: inference only, {threads} thread(s){mark}", f"{figures['inference_images_per_s']:,.0f} img/s", "")
        )
        out.append(
            (
                f"raw: prepare + inference, {threads} thread(s){mark}",
                f"{figures['prepare_and_inference_images_per_s']:,.0f} img/s",
                "",
            )
        )
    out += end_to_end_rows(e2e)
    out.append(("ratio end-to-end / raw (prepare + inference, 1 process)", f"{results['ratio']:.2f}", ""))
    out.append(
        (
            "ratio end-to-end / raw inference only (worker setting)",
            f"{results['ratio_inference_only']:.3f}",
            verdict("e2e_over_inference", results["ratio_inference_only"]),
        )
    )
    if "auto_over_digit" in results:
        auto = results["end_to_end_auto"]
        out.append((f"end-to-end, auto mode: {auto['images']:,} images", f"{auto['images_per_s']:,.0f} img/s", ""))
        out.append(
            (
                "ratio auto / digit mode",
                f"{results['auto_over_digit']:.3f}",
                verdict("auto_over_digit", results["auto_over_digit"]),
            )
        )
    if "end_to_end_number" in results:
        out.append(number_row(results["end_to_end_number"]))
    latency = results["single_image"]
    out += latency_rows("single image", latency)
    out.append(
        (
            "single image: upload p50 / created->result p50",
            f"{latency['upload_p50_ms']:.0f} / {latency['created_to_result_p50_ms']:.0f} ms",
            "",
        )
    )
    out += memory_rows(results["memory"])
    for run in results["scaling"]:
        out.append(
            (f"scaling: {run['images']:,} images", f"{run['seconds']:.1f} s, {run['images_per_s']:,.0f} img/s", "")
        )
    out += api_rows(results["api"])
    if "storage" in results:
        out += storage.rows(results["storage"])
    if "polling" in results:
        out += polling.rows(results["polling"])
    if "make_run" in results:  # the second system, after everything measured on the first
        out += make_run_rows(results["make_run"], results["make_run_over_bench"])
    return out


def end_to_end_rows(e2e: dict) -> list[tuple[str, str, str]]:
    wall, proc, share = e2e["wall"], e2e["worker_process_seconds"], e2e["share_of_worker_cpu"]
    cpu = e2e["cpu_seconds"]
    out = [
        (
            f"end-to-end: {e2e['images']:,} images",
            f"{e2e['seconds']:.1f} s, {e2e['images_per_s']:,.0f} img/s",
            verdict("e2e_10000_images_per_s", e2e["images_per_s"]),
        ),
        ("  wall: upload (request)", f"{wall['upload_s']:.2f} s", ""),
        (
            "  wall: zip expansion (created -> expanded)",
            f"{wall['expansion_s']:.2f} s (queue wait {wall['expansion_queue_wait_s']:.3f} s)",
            "",
        ),
        ("  wall: first result after upload", f"{wall['first_result_after_upload_s']:.2f} s", ""),
        ("  wall: expanded -> last result", f"{wall['after_expansion_s']:.2f} s", ""),
    ]
    stages = ("expand", "read", "inference", "write")
    stage_total = sum(proc[name + "_s"] for name in stages)
    for name in stages:
        seconds = proc[name + "_s"]
        out.append(
            (
                f"  worker {name} (wall, summed over processes)",
                f"{seconds:.2f} s = {100 * seconds / stage_total:.0f}% of stages, {100 * share.get(name, 0):.0f}% of worker CPU",
                "",
            )
        )
    out.append(
        (
            "  worker queueing/overhead/idle",
            f"{proc['queueing_overhead_idle_s']:.2f} s of {proc['capacity_s']:.2f} process-s",
            "",
        )
    )
    out.append(
        (
            "  worker CPU per image",
            f"{e2e['worker_cpu_ms_per_image']:.2f} ms",
            verdict("worker_cpu_ms_per_image", e2e["worker_cpu_ms_per_image"]),
        )
    )
    out.append(("  CPU seconds by component", ", ".join(f"{name} {value:.1f}" for name, value in cpu.items()), ""))
    return out


def number_row(number: dict) -> tuple[str, str, str]:
    """A zip of pictures of lines read in number mode; failed lines count in the time, so they are shown."""
    return (
        f"end-to-end, number mode: {number['images']:,} lines ({number['failed']} failed)",
        f"{number['seconds']:.1f} s, {number['images_per_s']:,.0f} lines/s, worker CPU {number['worker_cpu_ms_per_image']:.2f} ms/line",
        verdict("number_lines_per_s", number["images_per_s"]),
    )


def latency_rows(label: str, latency: dict) -> list[tuple[str, str, str]]:
    return [
        (
            f"{label}: p50 ({latency['jobs']} sequential jobs)",
            f"{latency['p50_ms']:.0f} ms",
            verdict("single_p50_ms", latency["p50_ms"]),
        ),
        (f"{label}: p95", f"{latency['p95_ms']:.0f} ms", verdict("single_p95_ms", latency["p95_ms"])),
    ]


def api_rows(api: dict) -> list[tuple[str, str, str]]:
    return [
        (
            f"GET /api/jobs/<id>/ ({api['job_images']:,}-image job, median of 20)",
            f"{api['job_detail_ms']:.1f} ms",
            verdict("api_ms", api["job_detail_ms"]),
        ),
        (
            "GET /api/jobs/<id>/results/?page=1 (same job)",
            f"{api['results_page_1_ms']:.1f} ms",
            verdict("api_ms", api["results_page_1_ms"]),
        ),
    ]


def make_run_rows(make_run: dict, over_bench: float) -> list[tuple[str, str, str]]:
    """make run's defaults: SQLite, 2 Celery processes, timed from the API (no server-side breakdown)."""
    digit, auto = make_run["end_to_end"], make_run["end_to_end_auto"]
    label = f"make run defaults ({make_run['database']}, {make_run['workers']} processes)"
    return [
        (
            f"{label}: {digit['images']:,} images, digit mode",
            f"{digit['seconds']:.1f} s, {digit['images_per_s']:,.0f} img/s",
            "",
        ),
        (
            "make run defaults: ratio to make bench (digit mode)",
            f"{over_bench:.3f}",
            verdict("make_run_over_bench", over_bench),
        ),
        (
            f"make run defaults: {auto['images']:,} images, auto mode",
            f"{auto['seconds']:.1f} s, {auto['images_per_s']:,.0f} img/s ({auto['images_per_s'] / digit['images_per_s']:.2f} of digit mode)",
            "",
        ),
        *latency_rows("make run defaults: single image", make_run["single_image"]),
    ]


def memory_rows(memory: dict) -> list[tuple[str, str, str]]:
    out = []
    for group in ("worker", "web"):
        for process in memory[group]:
            target = verdict("worker_rss_mib", process["peak_rss_mib"]) if group == "worker" else ""
            out.append(
                (
                    f"RSS {group} {process['role']} pid {process['pid']} (now / peak)",
                    f"{process['rss_mib']:.0f} / {process['peak_rss_mib']:.0f} MiB",
                    target,
                )
            )
    return out


def render(results: dict) -> str:
    table = rows(results)
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    header = (
        f"digit-ocr benchmark  {results['timestamp']}  workers={results['config']['workers']}  "
        f"cpus={results['machine']['cpus']}  load average before {results['machine']['load_before']} "
        f"after {results['machine']['load_after']}"
    )
    lines = [header, "-" * (sum(widths) + 6)]
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in table]
    return "\n".join(lines)


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def write(results: dict, reference: bool) -> list[Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    paths = [RESULTS_DIR / f"{results['timestamp']}.json"]
    if reference:
        paths.append(RESULTS_DIR / "reference.json")
    for path in paths:
        path.write_text(json.dumps(results, indent=2) + "\n")
    return paths

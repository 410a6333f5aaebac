"""The benchmark's one table (figures next to their targets) and its JSON file."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from bench import polling, storage

RESULTS_DIR = Path(__file__).resolve().parent / "results"

TARGETS = {
    "e2e_10000_images_per_s": (">=", 1000),
    "e2e_over_raw": (">=", 0.3),
    "single_p50_ms": ("<=", 150),
    "single_p95_ms": ("<=", 400),
    "worker_rss_mib": ("<=", 400),
    "auto_over_digit": (">=", 0.8),
}


def verdict(key: str, value: float) -> str:
    op, bound = TARGETS[key]
    ok = value >= bound if op == ">=" else value <= bound
    return ("ok" if ok else "MISSED") + f" (target {op} {bound:,})"


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
    out.append(
        (
            "ratio end-to-end / raw (prepare + inference, 1 process)",
            f"{results['ratio']:.2f}",
            verdict("e2e_over_raw", results["ratio"]),
        )
    )
    out.append(("ratio end-to-end / raw inference only", f"{results['ratio_inference_only']:.3f}", ""))
    if "auto_over_digit" in results:
        auto = results["end_to_end_auto"]
        out.append((f"end-to-end, auto mode: {auto['images']:,} images", f"{auto['images_per_s']:,.0f} img/s", ""))
        out.append(
            (
                "ratio auto / digit mode",
                f"{results['auto_over_digit']:.2f}",
                verdict("auto_over_digit", results["auto_over_digit"]),
            )
        )
    latency = results["single_image"]
    out.append(
        (
            f"single image: p50 ({latency['jobs']} sequential jobs)",
            f"{latency['p50_ms']:.0f} ms",
            verdict("single_p50_ms", latency["p50_ms"]),
        )
    )
    out.append(("single image: p95", f"{latency['p95_ms']:.0f} ms", verdict("single_p95_ms", latency["p95_ms"])))
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
    api = results["api"]
    out.append(
        (f"GET /api/jobs/<id>/ ({api['job_images']:,}-image job, median of 20)", f"{api['job_detail_ms']:.1f} ms", "")
    )
    out.append(("GET /api/jobs/<id>/results/?page=1 (same job)", f"{api['results_page_1_ms']:.1f} ms", ""))
    if "storage" in results:
        out += storage.rows(results["storage"])
    if "polling" in results:
        out += polling.rows(results["polling"])
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
    out.append(("  worker CPU per image", f"{e2e['worker_cpu_ms_per_image']:.2f} ms", ""))
    out.append(("  CPU seconds by component", ", ".join(f"{name} {value:.1f}" for name, value in cpu.items()), ""))
    return out


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

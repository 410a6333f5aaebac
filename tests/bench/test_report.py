"""The benchmark's table: issue 20's targets and the rows that carry them, on hand-made results (no services)."""

import pytest

from bench import report


def e2e(images=10_000, images_per_s=1_600.0, cpu_ms=0.9, failed=0) -> dict:
    """An end-to-end result as measure.end_to_end returns it."""
    stages = {"expand_s": 1.0, "read_s": 4.0, "inference_s": 1.0, "write_s": 1.0}
    return {
        "images": images,
        "failed": failed,
        "seconds": round(images / images_per_s, 2),
        "images_per_s": images_per_s,
        "wall": {
            "upload_s": 0.1,
            "expansion_s": 1.0,
            "expansion_queue_wait_s": 0.01,
            "first_result_after_upload_s": 0.5,
            "after_expansion_s": 5.0,
        },
        "worker_process_seconds": {**stages, "queueing_overhead_idle_s": 2.0, "capacity_s": 9.0},
        "cpu_seconds": {"worker": 9.0, "web": 0.5},
        "worker_cpu_ms_per_image": cpu_ms,
        "share_of_worker_cpu": {"expand": 0.1, "read": 0.5, "inference": 0.1, "write": 0.1},
    }


def latency(p50=25.0, p95=30.0) -> dict:
    return {"jobs": 200, "p50_ms": p50, "p95_ms": p95, "max_ms": 60.0, "upload_p50_ms": 6.0}


def make_run(digit=1_200.0, auto=1_100.0, p50=25.0, p95=30.0) -> dict:
    """As bench.run.run_make_run_measurements returns it."""
    api_timed = {"images": 10_000, "failed": 0}
    return {
        "database": "sqlite",
        "workers": 2,
        "end_to_end": {**api_timed, "seconds": round(10_000 / digit, 2), "images_per_s": digit},
        "end_to_end_auto": {**api_timed, "seconds": round(10_000 / auto, 2), "images_per_s": auto},
        "single_image": latency(p50, p95),
    }


@pytest.fixture
def results() -> dict:
    return {
        "raw": {
            "prepare_ms_per_image": 0.3,
            "by_threads": {"1": {"inference_images_per_s": 7_000.0, "prepare_and_inference_images_per_s": 2_500.0}},
            "worker_threads": 1,
        },
        "end_to_end": e2e(),
        "ratio": 0.64,
        "ratio_inference_only": 0.2286,
        "end_to_end_auto": e2e(images_per_s=1_400.0),
        "auto_over_digit": 0.875,
        "end_to_end_number": e2e(images=2_000, images_per_s=600.0, cpu_ms=3.0),
        "single_image": {**latency(), "created_to_result_p50_ms": 12.0},
        "memory": {"worker": [{"pid": 1, "role": "main", "rss_mib": 150.0, "peak_rss_mib": 160.0}], "web": []},
        "scaling": [e2e()],
        "api": {"job_images": 50_000, "job_detail_ms": 3.0, "results_page_1_ms": 4.0},
        "make_run": make_run(),
        "make_run_over_bench": 0.75,
    }


def targets_of(rows) -> dict[str, str]:
    return {figure: target for figure, _, target in rows}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("e2e_10000_images_per_s", 1_500, "ok (target >= 1,500)"),
        ("e2e_10000_images_per_s", 1_499.9, "MISSED (target >= 1,500)"),
        ("e2e_over_inference", 0.2, "ok (target >= 0.2)"),
        ("worker_cpu_ms_per_image", 1.0, "ok (target <= 1.0)"),
        ("worker_cpu_ms_per_image", 1.01, "MISSED (target <= 1.0)"),
        ("number_lines_per_s", 499, "MISSED (target >= 500)"),
        ("make_run_over_bench", 0.69, "MISSED (target >= 0.7)"),
        ("single_p50_ms", 40, "ok (target <= 40)"),
        ("single_p95_ms", 101, "MISSED (target <= 100)"),
        ("api_ms", 49.9, "ok (target < 50)"),
        ("api_ms", 50, "MISSED (target < 50)"),
    ],
)
def test_verdicts_hold_the_issues_targets(key, value, expected):
    assert report.verdict(key, value) == expected


def test_the_old_target_on_the_ratio_to_prepare_and_inference_is_gone(results):
    targets = targets_of(report.rows(results))
    assert "e2e_over_raw" not in report.TARGETS
    assert targets["ratio end-to-end / raw (prepare + inference, 1 process)"] == ""
    assert targets["ratio end-to-end / raw inference only (worker setting)"] == "ok (target >= 0.2)"


def test_worker_cpu_per_image_has_a_verdict():
    rows = targets_of(report.end_to_end_rows(e2e(cpu_ms=1.4)))
    assert rows["  worker CPU per image"] == "MISSED (target <= 1.0)"


def test_number_mode_is_reported_in_lines_per_second_with_its_failures():
    figure, value, target = report.number_row(e2e(images=2_000, images_per_s=450.0, cpu_ms=3.2, failed=3))
    assert figure == "end-to-end, number mode: 2,000 lines (3 failed)"
    assert value.startswith("4.4 s, 450 lines/s, worker CPU 3.20 ms/line")
    assert target == "MISSED (target >= 500)"


def test_api_reads_of_the_largest_job_are_held_to_50_ms():
    rows = report.api_rows({"job_images": 50_000, "job_detail_ms": 12.0, "results_page_1_ms": 55.0})
    assert rows[0][0].startswith("GET /api/jobs/<id>/ (50,000-image job")
    assert [target for _, _, target in rows] == ["ok (target < 50)", "MISSED (target < 50)"]


def test_make_run_rows_compare_with_make_bench_and_hold_single_images_to_40_and_100_ms():
    rows = report.make_run_rows(make_run(digit=1_000.0, auto=900.0, p50=45.0, p95=90.0), over_bench=0.65)
    figures = {figure: (value, target) for figure, value, target in rows}
    assert figures["make run defaults (sqlite, 2 processes): 10,000 images, digit mode"] == ("10.0 s, 1,000 img/s", "")
    assert figures["make run defaults: ratio to make bench (digit mode)"] == ("0.650", "MISSED (target >= 0.7)")
    assert figures["make run defaults: 10,000 images, auto mode"][0].endswith("(0.90 of digit mode)")
    assert figures["make run defaults: single image: p50 (200 sequential jobs)"] == ("45 ms", "MISSED (target <= 40)")
    assert figures["make run defaults: single image: p95"] == ("90 ms", "ok (target <= 100)")


def test_the_table_shows_every_new_figure_in_reading_order(results):
    figures = [figure for figure, _, _ in report.rows(results)]
    expected = [
        "end-to-end: 10,000 images",
        "ratio end-to-end / raw inference only (worker setting)",
        "ratio auto / digit mode",
        "end-to-end, number mode: 2,000 lines (0 failed)",
        "single image: p50 (200 sequential jobs)",
        "GET /api/jobs/<id>/results/?page=1 (same job)",
        "make run defaults: ratio to make bench (digit mode)",
        "make run defaults: single image: p95",
    ]
    assert [figure for figure in figures if figure in expected] == expected
    assert all("MISSED" not in target for _, _, target in report.rows(results)), "the fixture meets every target"


def test_results_of_an_older_run_without_the_new_figures_still_render(results):
    for key in ("end_to_end_number", "make_run", "make_run_over_bench"):
        del results[key]
    figures = [figure for figure, _, _ in report.rows(results)]
    assert not any(figure.startswith(("make run", "end-to-end, number mode")) for figure in figures)


def test_a_ratio_with_a_target_is_shown_as_precisely_as_it_is_compared(results):
    results["auto_over_digit"] = 0.795
    figures = {figure: (value, target) for figure, value, target in report.rows(results)}
    assert figures["ratio auto / digit mode"] == ("0.795", "MISSED (target >= 0.8)")

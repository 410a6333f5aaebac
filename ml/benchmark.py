"""LiteRT throughput and memory, measured in a process that imports only numpy, PIL and LiteRT.

Run as `python -m ml.benchmark [MODEL]`; prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import PIL.Image  # noqa: F401  (a worker has Pillow loaded too; count it in the memory figure)

from ml.inference import DigitClassifier

BATCH_SIZES = (1, 32, 256, 4096)
MIN_SECONDS = 1.0


def images_per_second(classifier: DigitClassifier, batch_size: int) -> float:
    batch = np.random.default_rng(0).random((batch_size, 28, 28), dtype=np.float32)
    classifier.predict_proba(batch)  # warm-up (allocation, XNNPACK packing)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < MIN_SECONDS:
        classifier.predict_proba(batch)
        done += batch_size
    return done / (time.perf_counter() - started)


def status_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process; unlike ru_maxrss, VmHWM restarts at exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(model_path: str | None = None, num_threads: int = 2) -> dict:
    classifier = DigitClassifier.load(model_path, num_threads=num_threads)
    throughput = {str(size): round(images_per_second(classifier, size), 1) for size in BATCH_SIZES}
    return {
        "num_threads": num_threads,
        "load_average_1min": round(os.getloadavg()[0], 2),  # other jobs on the machine slow this down
        "images_per_second": throughput,
        "rss_mib": round(status_mib("VmRSS"), 1),
        "peak_rss_mib": round(status_mib("VmHWM"), 1),
        "modules_loaded": sorted(
            {
                name.split(".")[0]
                for name in sys.modules
                if name.split(".")[0] in ("tensorflow", "keras", "scipy", "django")
            }
        ),
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else None)))

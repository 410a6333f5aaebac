"""Classifying a chunk of images: read them, run the network once on the whole batch, write the
results in one transaction. Writing only rows still pending makes a redelivered chunk harmless."""

import logging
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.inference import top_k
from ml.preprocess import ImageError, prepare
from uploads.models import Image, Job
from uploads.services import count_results, finish_job_if_complete, is_cancelled, mark_job_running

logger = logging.getLogger(__name__)
RESULT_FIELDS = [
    "status", "digit", "confidence", "top", "error", "needs_review", "model_version", "processed_by", "processed_at"
]


def classify_chunk(*, job_id, image_ids, classifier, worker_name: str = "") -> int:
    """Classify the chunk's pending images; returns how many results were written."""
    if is_cancelled(job_id=job_id):
        return 0
    images = list(Image.objects.filter(job_id=job_id, id__in=image_ids, status=Image.Status.PENDING).only("id", "file"))
    review_threshold = Job.objects.values_list("review_threshold", flat=True).get(id=job_id)
    written = 0
    if images:
        mark_job_running(job_id=job_id)
        clock = time.perf_counter()
        inputs, errors = read_inputs(images)
        read_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        probabilities = classifier.predict_proba(np.stack(list(inputs.values()))) if inputs else []
        inference_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        written = save_results(
            job_id=job_id,
            predictions=dict(zip(inputs, probabilities)),
            errors=errors,
            model_version=classifier.version,
            review_threshold=review_threshold,
            worker_name=worker_name,
            read_seconds=read_seconds,
            inference_seconds=inference_seconds,
            write_started=clock,
        )
    finish_job_if_complete(job_id=job_id)
    return written


def read_inputs(images) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """The network input of every image that can be read, and a readable reason for every other."""
    inputs, errors = {}, {}
    for image in images:
        try:
            with image.file.open("rb") as stored:
                inputs[image.id] = prepare(stored.read(), max_pixels=settings.OCR_MAX_IMAGE_PIXELS)
        except ImageError as exc:
            errors[image.id] = str(exc)
        except OSError as exc:
            errors[image.id] = f"stored image could not be read: {exc}"
    return inputs, errors


@transaction.atomic
def save_results(
    *,
    job_id,
    predictions: dict,
    errors: dict,
    model_version: str,
    review_threshold: float = 0.0,
    worker_name: str = "",
    write_started=None,
    **seconds,
) -> int:
    still_pending = set(
        Image.objects.select_for_update()
        .filter(id__in=[*predictions, *errors], status=Image.Status.PENDING)
        .values_list("id", flat=True)
    )
    now = timezone.now()
    rows = []
    for image_id in still_pending:
        if image_id in predictions:
            row = result_row(image_id, predictions[image_id], review_threshold=review_threshold)
        else:
            row = Image(id=image_id, status=Image.Status.ERROR, error=errors[image_id])
        row.model_version, row.processed_by, row.processed_at = model_version, worker_name, now
        rows.append(row)
    Image.objects.bulk_update(rows, RESULT_FIELDS, batch_size=1000)
    failed = sum(row.status == Image.Status.ERROR for row in rows)
    flagged = sum(row.needs_review for row in rows)
    if write_started is not None:
        seconds["write_seconds"] = time.perf_counter() - write_started
    count_results(job_id=job_id, processed=len(rows), failed=failed, flagged=flagged, **seconds)
    return len(rows)


def give_up_chunk(*, job_id, image_ids, reason: str) -> int:
    """Record `reason` as the error of every image of the chunk still pending."""
    pending = Image.objects.filter(job_id=job_id, id__in=image_ids, status=Image.Status.PENDING)
    written = save_results(
        job_id=job_id,
        predictions={},
        errors={image_id: reason for image_id in pending.values_list("id", flat=True)},
        model_version="",
    )
    finish_job_if_complete(job_id=job_id)
    return written


def result_row(image_id, probabilities: np.ndarray, *, review_threshold: float) -> Image:
    top = top_k(probabilities, k=3)
    return Image(
        id=image_id,
        status=Image.Status.DONE,
        digit=top[0]["digit"],
        confidence=top[0]["probability"],
        top=top,
        error="",
        needs_review=top[0]["probability"] < review_threshold,
    )

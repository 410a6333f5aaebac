"""Classifying a chunk of images: read them, run each network once on the whole batch, write the
results in one transaction. Writing only rows still pending makes a redelivered chunk harmless.

Modes: `digit` reads every image with the digit network; `number` with the line reader; `auto` with
the digit network, and the line reader reads again the images that network does not take for one
digit, unless it finds one character (or none) there (`ml.reading.lines_in_doubtful_pictures`). A
digit the digit network doubts is read again from the ink of one polarity
(`ml.reading.read_doubtful_digits_in_one_polarity`); a line the line reader doubts is read again closer, the
digits it doubts by the digit network (`ml.reading.read_lines`)."""

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from ml.inference import DIGITS, given_a_digit, top_k
from ml.lines import LineReading
from ml.preprocess import (
    DECODER_ERRORS,
    ImageError,
    digit_picture,
    line_ink,
    line_picture,
    open_image,
    to_network_input,
)
from ml.reading import lines_in_doubtful_pictures, read_doubtful_digits_in_one_polarity, read_lines
from uploads.models import Image, Job
from uploads.pictures import StoredPicture, stream_pictures
from uploads.services import count_results, finish_job_if_complete, mark_job_running, queue_each_alone
from worker.model import get_line_reader

logger = logging.getLogger(__name__)
# A chunk started this often with images still pending: its worker died each time (an image that crashes a
# decoder, or takes all the memory). Its images are then read one by one, so that only such an image fails.
MAX_CHUNK_STARTS = 3
CHUNK_JOB_FIELDS = ("status", "mode", "review_threshold", "keep_separators", "upload")
PICTURE_FIELDS = ("id", "file", "member_offset", "member_size", "member_compression")
RESULT_FIELDS = [
    "status",
    "digit",
    "confidence",
    "top",
    "text",
    "digits",
    "error",
    "needs_review",
    "model_version",
    "processed_by",
    "processed_at",
]


def classify_chunk(*, job_id, image_ids, classifier, line_reader=None, worker_name: str = "", attempt: int = 0) -> int:
    """Classify the chunk's pending images; returns how many results were written. `attempt` is the task's
    retry number: a message delivered again after its worker died comes back with the same one."""
    job = Job.objects.only(*CHUNK_JOB_FIELDS).filter(id=job_id).first()
    if job is None or job.status == Job.Status.CANCELLED:  # deleted or cancelled: nothing to do
        return 0
    pending = Image.objects.filter(job_id=job_id, id__in=image_ids, status=Image.Status.PENDING)
    images = list(pending.only(*PICTURE_FIELDS))
    written = 0
    if images and started_too_often(job_id=job_id, image_ids=image_ids, attempt=attempt):
        return read_each_alone(job_id=job_id, image_ids=[image.id for image in images])
    if images:
        mark_job_running(job_id=job_id)
        reading = read_chunk(
            images, upload_name=job.upload.name, mode=job.mode, classifier=classifier, line_reader=line_reader
        )
        threshold = job.review_threshold
        rows = [
            *(digit_row(image_id, row, threshold=threshold) for image_id, row in reading.digits.items()),
            *(
                number_row(image_id, line, threshold=threshold, keep_separators=job.keep_separators)
                for image_id, line in reading.numbers.items()
            ),
            *(error_row(image_id, reason) for image_id, reason in reading.errors.items()),
        ]
        for row in rows:
            row.model_version = reading.versions.get(row.id, "")
        written = save_results(
            job_id=job_id,
            rows=rows,
            worker_name=worker_name,
            write_started=time.perf_counter(),
            read_seconds=reading.read_seconds,
            inference_seconds=reading.inference_seconds,
        )
        logger.info(
            "job chunk job_id=%s images=%d written=%d read_s=%.3f inference_s=%.3f",
            job_id,
            len(images),
            written,
            reading.read_seconds,
            reading.inference_seconds,
        )
    finish_job_if_complete(job_id=job_id)
    return written


@dataclass
class ChunkReading:
    digits: dict  # image id -> (10,) digit probabilities
    numbers: dict  # image id -> LineReading
    errors: dict  # image id -> a reason a person can read
    versions: dict  # image id -> the version of the network that read it
    read_seconds: float = 0.0  # opening and preprocessing
    inference_seconds: float = 0.0  # the networks


def read_chunk(images, *, upload_name: str, mode: str, classifier, line_reader=None) -> ChunkReading:
    """Read the chunk's images in its job's mode, each network run once on the whole batch."""
    clock = time.perf_counter()
    inputs, lines, pictures, errors = read_images(stream_pictures(images, upload_name=upload_name), mode=mode)
    read_seconds, clock = time.perf_counter() - clock, time.perf_counter()
    outputs = classifier.predict_all(np.stack(list(inputs.values()))) if inputs else np.zeros((0, DIGITS + 1))
    inference_seconds, clock = time.perf_counter() - clock, time.perf_counter()

    def load_line_reader():
        return line_reader or get_line_reader()

    numbers = read_numbers(lines, load_line_reader(), classifier) if lines else {}
    if mode == Job.Mode.AUTO:
        found = lines_in_doubtful_pictures(list(pictures.values()), outputs, load_line_reader, classifier)
        numbers = {list(pictures)[index]: line for index, line in found.items()}
    digits = read_digits(inputs, outputs, pictures, numbers, classifier)
    versions = {image_id: classifier.version for image_id in digits}
    versions.update({image_id: load_line_reader().version for image_id in numbers})
    return ChunkReading(
        digits, numbers, errors, versions, read_seconds, inference_seconds + time.perf_counter() - clock
    )


def read_digits(inputs: dict, outputs: np.ndarray, pictures: dict, numbers: dict, classifier) -> dict:
    """image id -> (10,) digit probabilities of the images not read as numbers, each doubtful digit read
    again from the ink of one polarity (`ml.reading.read_doubtful_digits_in_one_polarity`)."""
    rows = [row for row, image_id in enumerate(inputs) if image_id not in numbers]
    ids = [image_id for image_id in inputs if image_id not in numbers]
    outputs = read_doubtful_digits_in_one_polarity(outputs[rows], [pictures[image_id] for image_id in ids], classifier)
    return dict(zip(ids, given_a_digit(outputs)))


def read_images(stored: Iterable[StoredPicture], *, mode: str):
    """Per image: the digit network's input and the picture it came from, shrunk (`digit_picture`), should a
    doubtful digit be read again; in `auto` mode its `line_picture` instead (shrunk: a chunk of full-size
    photos would not fit in memory), should the line reader need it; in `number` mode the line's ink
    (`line_ink`) only; or a readable reason why it could not be read. Each image's bytes are let go
    once it is prepared, before the next image's are read."""
    inputs, lines, pictures, errors = {}, {}, {}, {}
    for image_id, data, error in stored:
        if error:
            errors[image_id] = error
        else:
            prepare_image(image_id, data, mode=mode, prepared=(inputs, lines, pictures), errors=errors)
        del data  # or the loop would keep it while the next image is read
    return inputs, lines, pictures, errors


def prepare_image(image_id, data: bytes, *, mode: str, prepared: tuple[dict, dict, dict], errors: dict) -> None:
    """Adds what the mode needs of the image to `prepared` (inputs, lines, pictures), or why not to `errors`."""
    inputs, lines, pictures = prepared
    try:
        picture = open_image(data, max_pixels=settings.OCR_MAX_IMAGE_PIXELS)
        if mode == Job.Mode.NUMBER:
            lines[image_id] = line_ink(picture)
            return
        shrunk = digit_picture(picture)
        network_input = to_network_input(shrunk)
        pictures[image_id] = line_picture(picture) if mode == Job.Mode.AUTO else shrunk
        inputs[image_id] = network_input  # last: an image is in both or in neither
    except ImageError as exc:
        errors[image_id] = str(exc)
    except DECODER_ERRORS as exc:  # a picture that breaks the preprocessing must not fail its chunk
        logger.exception("image not prepared image_id=%s", image_id)
        errors[image_id] = f"could not be read: {type(exc).__name__}: {exc}"


def read_numbers(lines: dict, line_reader, classifier) -> dict:
    """image id -> LineReading, one batch through the line reader, the second looks batched too."""
    return dict(zip(lines, read_lines(list(lines.values()), line_reader, classifier)))


def digit_row(image_id, probabilities: np.ndarray, *, threshold: float) -> Image:
    top = top_k(probabilities, k=3)
    digit, confidence = top[0]["digit"], top[0]["probability"]
    return Image(
        id=image_id,
        status=Image.Status.DONE,
        digit=digit,
        confidence=confidence,
        top=top,
        text=str(digit),
        digits=[{"digit": digit, "confidence": confidence, "box": None}],
        error="",
        needs_review=confidence < threshold,
    )


def number_row(image_id, reading: LineReading, *, threshold: float, keep_separators: bool = True) -> Image:
    if not reading.characters:
        return error_row(image_id, "no digits found")
    digits = reading.digit_list()
    confidence = reading.confidence if keep_separators else reading.digits_confidence
    return Image(
        id=image_id,
        status=Image.Status.DONE,
        digit=digits[0]["digit"] if len(digits) == 1 else None,
        confidence=confidence,
        top=None,
        text=reading.text if keep_separators else reading.digits,
        digits=digits,
        error="",
        needs_review=confidence < threshold,
    )


def error_row(image_id, reason: str) -> Image:
    return Image(id=image_id, status=Image.Status.ERROR, error=reason, text="")


@transaction.atomic
def save_results(
    *, job_id, rows: list[Image], model_version: str = "", worker_name: str = "", write_started=None, **seconds
) -> int:
    still_pending = set(
        Image.objects.select_for_update()
        .filter(id__in=[row.id for row in rows], status=Image.Status.PENDING)
        .values_list("id", flat=True)
    )
    rows = [row for row in rows if row.id in still_pending]
    now = timezone.now()
    for row in rows:
        row.model_version = row.model_version or model_version
        row.processed_by, row.processed_at = worker_name, now
    write_rows(rows)
    if write_started is not None:
        seconds["write_seconds"] = time.perf_counter() - write_started
    count_results(
        job_id=job_id,
        processed=len(rows),
        failed=sum(row.status == Image.Status.ERROR for row in rows),
        flagged=sum(row.needs_review for row in rows),
        **seconds,
    )
    return len(rows)


def write_rows(rows: list[Image]) -> None:
    """One parameterised UPDATE per row, sent together with executemany (pipelined by psycopg).
    Django's bulk_update builds a CASE per field over the whole chunk, which PostgreSQL takes about
    fifteen times longer to run."""
    if not rows:
        return
    fields = [Image._meta.get_field(name) for name in RESULT_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Image._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields] + [row.id] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def started_too_often(*, job_id, image_ids, attempt: int = 0) -> bool:
    """Counts this start of the chunk's attempt (retries after an error are attempts of their own, bounded by
    Celery); True past MAX_CHUNK_STARTS. Without the cache, never."""
    key = "chunk-starts:" + hashlib.sha256(f"{job_id}:{attempt}:{sorted(image_ids)}".encode()).hexdigest()
    try:
        cache.add(key, 0, timeout=24 * 3600)
        return cache.incr(key) > MAX_CHUNK_STARTS
    except RedisError as exc:  # a guard, never a reason to fail a chunk
        logger.warning("chunk starts not counted: %s", exc)
        return False


def read_each_alone(*, job_id, image_ids) -> int:
    """A chunk whose worker keeps dying: its images queued one by one, or the one image given up."""
    if len(image_ids) > 1:
        logger.warning("chunk split after %d starts job_id=%s images=%d", MAX_CHUNK_STARTS, job_id, len(image_ids))
        queue_each_alone(job_id=job_id, image_ids=image_ids)
        return 0
    reason = (
        f"the worker reading this image stopped {MAX_CHUNK_STARTS} times (it may crash the decoder or fill the memory)"
    )
    return give_up_chunk(job_id=job_id, image_ids=image_ids, reason=reason)


def give_up_chunk(*, job_id, image_ids, reason: str) -> int:
    """Record `reason` as the error of every image of the chunk still pending."""
    pending = Image.objects.filter(job_id=job_id, id__in=image_ids, status=Image.Status.PENDING)
    written = save_results(
        job_id=job_id,
        rows=[error_row(image_id, reason) for image_id in pending.values_list("id", flat=True)],
        model_version="",
    )
    finish_job_if_complete(job_id=job_id)
    return written

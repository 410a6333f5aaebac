"""Jobs from uploads: accepting a file in the web request, expanding a zip in the worker, and the job
counters every chunk updates."""

import io
import logging
import string
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ml.preprocess import DECODER_ERRORS, eight_bit, open_image
from uploads import broker
from uploads.deletion import delete_job_files
from uploads.ingestion import Limits, Member, UploadError, display_name, identify_image, is_zip, open_zip, read_members
from uploads.models import FINISHED_STATUSES, WITH_PICTURE, CallbackStatus, Image, Job
from uploads.pictures import picture_bytes

logger = logging.getLogger(__name__)


def ingestion_limits() -> Limits:
    return Limits(
        max_members=settings.OCR_MAX_ZIP_MEMBERS,
        max_member_bytes=settings.OCR_MAX_MEMBER_BYTES,
        max_total_bytes=settings.OCR_MAX_ZIP_TOTAL_BYTES,
    )


def create_job(*, upload: UploadedFile, owner=None, **options) -> Job:
    """Store an upload and queue its work. A zip is only listed here; the worker expands it.
    `options` are Job fields chosen by the uploader: mode, review_threshold, keep_separators, callback_url."""
    if upload.size > settings.OCR_MAX_UPLOAD_BYTES:
        raise UploadError(f"upload too large: {upload.size} bytes (limit {settings.OCR_MAX_UPLOAD_BYTES})")
    if upload.size == 0:
        raise UploadError("empty file: the upload has no content")
    if is_zip(upload):
        archive, members = open_zip(upload, ingestion_limits())
        archive.close()
        return _create_zip_job(upload=upload, owner=owner, total=len(members), options=options)
    identify_image(upload, unknown="not an image and not a zip")
    return _create_image_job(upload=upload, owner=owner, options=options)


@transaction.atomic
def _create_zip_job(*, upload, owner, total, options) -> Job:
    job = Job.objects.create(
        kind=Job.Kind.ZIP, upload=upload, upload_name=display_name(upload.name), owner=owner, total=total, **options
    )
    transaction.on_commit(lambda: _queue_expansion(job.id))
    logger.info("job created job_id=%s kind=zip total=%d", job.id, total)
    return job


@transaction.atomic
def _create_image_job(*, upload, owner, options) -> Job:
    now = timezone.now()
    name = display_name(upload.name)
    job = Job.objects.create(
        kind=Job.Kind.IMAGE, upload=upload, upload_name=name, owner=owner, total=1, expanded_at=now, **options
    )
    image = Image.objects.create(job=job, position=0, name=name, file=job.upload.name)
    transaction.on_commit(lambda: _queue_classification(job.id, [image.id]))
    logger.info("job created job_id=%s kind=image", job.id)
    return job


def expand_zip_job(*, job_id) -> None:
    """Turn every candidate member of a job's zip into an Image row (stored bytes, or an error), and
    queue classification a chunk at a time as rows are created. Safe to run again after a crash."""
    job = Job.objects.filter(id=job_id).first()
    if job is None:  # deleted, maybe while an earlier try of this task was storing images
        delete_job_files(job_id=job_id)
        return
    if job.expanded_at is not None or job.status == Job.Status.CANCELLED:
        return
    mark_job_running(job_id=job_id)
    existing = set(job.images.values_list("position", flat=True))
    with job.upload.open("rb") as upload:
        try:
            archive, members = open_zip(upload, ingestion_limits())
        except UploadError as exc:
            fail_job(job_id=job_id, reason=str(exc))
            return
        batch = []
        for position, member in enumerate(read_members(archive, members, ingestion_limits())):
            if position in existing:
                continue
            batch.append(_image_from_member(job_id=job_id, position=position, member=member))
            if len(batch) >= settings.OCR_CHUNK_SIZE:
                saved = _save_images(job_id=job_id, images=batch)
                batch = []
                if not saved or is_cancelled(job_id=job_id):
                    return
        if not _save_images(job_id=job_id, images=batch):
            return
    _requeue_pending(job_id=job_id, positions=existing)
    Job.objects.filter(id=job_id).update(expanded_at=timezone.now())
    logger.info("job expanded job_id=%s members=%d", job_id, len(members))
    finish_job_if_complete(job_id=job_id)


def _image_from_member(*, job_id, position, member: Member) -> Image:
    image = Image(job_id=job_id, position=position, name=member.name)
    error = member.error
    if not error:
        try:
            identify_image(io.BytesIO(member.data))
        except UploadError as exc:
            error = str(exc)
    if error:
        image.status, image.error, image.processed_at = Image.Status.ERROR, error, timezone.now()
    elif member.place:
        image.member_offset, image.member_size = member.place.offset, member.place.size
        image.member_compression = member.place.compression
    else:
        image.file.save(member.name, ContentFile(member.data), save=False)
    return image


def _save_images(*, job_id, images: list[Image]) -> bool:
    """Create the rows of images already stored. False if the job has been deleted meanwhile: its
    files stored since the deletion are deleted in turn."""
    if not images:
        return True
    errors = sum(image.status == Image.Status.ERROR for image in images)
    try:
        with transaction.atomic():
            created = Image.objects.bulk_create(images)
            # An expansion saving rows is a job moving: else the sweep would start a second one beside it.
            Job.objects.filter(id=job_id).update(progressed_at=timezone.now())
            if errors:
                count_results(job_id=job_id, processed=errors, failed=errors)
            pending = [image.id for image in created if image.status == Image.Status.PENDING]
            if pending:
                transaction.on_commit(lambda: _queue_classification(job_id, pending))
    except IntegrityError:
        if Job.objects.filter(id=job_id).exists():
            raise
        delete_job_files(job_id=job_id)
        return False
    return True


def _requeue_pending(*, job_id, positions) -> None:
    """After a crashed expansion, the rows it made may never have had their chunk queued."""
    if not positions:
        return
    pending = list(
        Image.objects.filter(job_id=job_id, position__in=positions, status=Image.Status.PENDING)
        .order_by("position")
        .values_list("id", flat=True)
    )
    _queue_in_chunks(job_id, pending)


def mark_job_running(*, job_id) -> None:
    Job.objects.filter(id=job_id, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING, started_at=timezone.now())


def correct_result(*, image, text: str, user=None):
    """Record what a person says the image shows (a digit, or a line with its separators), beside the
    network's prediction: the text, and the digit (`corrected_label`) when the text is one digit. An
    empty text takes the correction back."""
    image.corrected_text = text
    image.corrected_label = int(text) if len(text) == 1 and text in string.digits else None
    image.corrected_by, image.corrected_at = (user, timezone.now()) if text else (None, None)
    with transaction.atomic():
        image.save(update_fields=["corrected_text", "corrected_label", "corrected_by", "corrected_at"])
        count_edit(job_id=image.job_id)
    return image


def count_edit(*, job_id) -> None:
    """A person changed a result (a correction, an admin's edit): counted on the job, so that the ETag
    of its results pages (recognition.conditional) changes."""
    Job.objects.filter(id=job_id).update(corrections=F("corrections") + 1)


def count_results(*, job_id, processed: int, failed: int, flagged: int = 0, **seconds) -> None:
    """Add to the job's counters in the database itself, so concurrent chunks never lose a count.
    `seconds` adds to the timing fields (read_seconds=..., inference_seconds=..., write_seconds=...)."""
    timings = {field: F(field) + value for field, value in seconds.items()}
    Job.objects.filter(id=job_id).update(
        processed=F("processed") + processed,
        failed=F("failed") + failed,
        flagged=F("flagged") + flagged,
        progressed_at=timezone.now(),
        **timings,
    )


def finish_job_if_complete(*, job_id) -> bool:
    """Mark the job done once it is fully expanded and every image has a result or an error."""
    complete = Q(expanded_at__isnull=False, processed__gte=F("total"))
    return _end_job(job_id=job_id, status=Job.Status.DONE, only_if=complete)


def cancel_job(*, job_id) -> bool:
    """Stop a job that has not ended: work still queued for it is skipped when it comes up."""
    return _end_job(job_id=job_id, status=Job.Status.CANCELLED)


def fail_job(*, job_id, reason: str) -> bool:
    return _end_job(job_id=job_id, status=Job.Status.FAILED, error=reason)


def is_cancelled(*, job_id) -> bool:
    return Job.objects.filter(id=job_id, status=Job.Status.CANCELLED).exists()


def _end_job(*, job_id, status, only_if: Q | None = None, **fields) -> bool:
    """Give a job that has not ended its final status, once: only the caller that makes the change
    logs it and sends the callback."""
    ended = (
        Job.objects.filter(only_if or Q(), id=job_id)
        .exclude(status__in=FINISHED_STATUSES)
        .update(status=status, finished_at=timezone.now(), **fields)
    )
    if ended:
        logger.info("job %s job_id=%s%s", status, job_id, f" reason={fields['error']!r}" if "error" in fields else "")
        _announce_end(job_id)
    return bool(ended)


def _announce_end(job_id) -> None:
    """Queue the job's callback, if it has one, once the ending is committed."""
    if Job.objects.filter(id=job_id).exclude(callback_url="").update(callback_status=CallbackStatus.PENDING):
        transaction.on_commit(lambda: _queue_callback(job_id))


def _queue_callback(job_id) -> None:
    from worker.tasks import deliver_callback

    _send(deliver_callback, str(job_id), queue="callbacks")


def rerun_failed_images(*, job_id) -> int:
    """Send the job's unreadable stored images through the network again (after a model or code fix).
    Members refused at expansion have nothing stored and stay as they are."""
    return _read_again(job_id=job_id, images=Image.objects.filter(status=Image.Status.ERROR), what="rerun")


def reread_job(*, job_id, flagged_only: bool = False) -> int:
    """Read the job's stored images again with the current network versions (after a promotion), or
    only its results flagged for review. A corrected result keeps the person's label."""
    images = Image.objects.exclude(status=Image.Status.PENDING)
    return _read_again(
        job_id=job_id, images=images.filter(needs_review=True) if flagged_only else images, what="reread"
    )


class JobNotEnded(ValueError):
    """A job that is still being read, or was cancelled, is not read again; str() says why."""


def _read_again(*, job_id, images, what: str) -> int:
    """Only an ended job (done or failed) is read again: over a running one it would queue its images twice
    (a loop of requests, every worker busy), and over a cancelled one it would undo the cancel."""
    with transaction.atomic():
        job = Job.objects.select_for_update().only("status").filter(id=job_id).first()
        if job is None:
            return 0
        if job.status not in (Job.Status.DONE, Job.Status.FAILED):
            raise JobNotEnded(f"the job is {job.status}: only a job that is done or failed is read again")
        rows = list(
            images.select_for_update()
            .filter(WITH_PICTURE, job_id=job_id)
            .values_list("id", "status", "needs_review")
            .order_by("position")
        )
        if not rows:
            return 0
        ids = [image_id for image_id, _, _ in rows]
        Image.objects.filter(id__in=ids).update(
            status=Image.Status.PENDING, error="", needs_review=False, processed_at=None
        )
        Job.objects.filter(id=job_id).update(
            processed=F("processed") - len(ids),
            failed=F("failed") - sum(status == Image.Status.ERROR for _, status, _ in rows),
            flagged=F("flagged") - sum(flagged for _, _, flagged in rows),
            status=Job.Status.RUNNING,
            finished_at=None,
            progressed_at=timezone.now(),  # else the sweep takes the ended job for stalled and queues it twice
        )
        transaction.on_commit(lambda: _queue_in_chunks(job_id, ids))
    logger.info("job %s job_id=%s images=%d", what, job_id, len(ids))
    return len(ids)


def corrected_images():
    """The corrections a network may learn from, digits and lines, by image id: those whose picture is
    stored, and unless OCR_LEARN_FROM_ANONYMOUS, only those a signed-in user made."""
    corrected = Image.objects.filter(WITH_PICTURE).filter(Q(corrected_label__isnull=False) | ~Q(corrected_text=""))
    if not settings.OCR_LEARN_FROM_ANONYMOUS:
        corrected = corrected.filter(corrected_by__isnull=False)
    return corrected.select_related("job").order_by("id")


def export_labelled_images(*, directory: Path) -> tuple[int, list[str]]:
    """Images corrected to a digit (`corrected_images`) as DIR/<label>/<image id>.png, the layout `python -m
    ml train --extra` reads. Returns how many were written, and why each of the others could not be."""
    written, skipped = 0, []
    for image in corrected_images().filter(corrected_label__isnull=False).iterator(chunk_size=500):
        try:
            picture = eight_bit(open_image(picture_bytes(image), max_pixels=settings.OCR_MAX_IMAGE_PIXELS))
        except DECODER_ERRORS as exc:  # as correction_inputs: an unreadable picture is skipped, with its reason
            skipped.append(f"{image.name} (image {image.id}): {exc}")
            continue
        target = directory / str(image.corrected_label) / f"{image.id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, format="PNG")
        written += 1
    return written, skipped


# Chunks that were running when the broker went away end on their own. A job lost with the broker is
# sent again only after this many of its own chunk times (at least SETTLE_MIN_SECONDS), so that none
# of its images is read by two workers at once.
SETTLE_CHUNKS = 2
SETTLE_MIN_SECONDS = 5
TIMING_FIELDS = ["read_seconds", "inference_seconds", "write_seconds"]
SWEEP_FIELDS = ["id", "kind", "expanded_at", "created_at", "progressed_at", "processed", *TIMING_FIELDS]


def requeue_stalled_jobs(*, stalled_after: timedelta) -> int:
    """Send again the work of unfinished jobs whose messages are gone:
    - jobs created before the broker last started empty (Redis restarted without persistence), once
      they stand still for a few of their own chunk times;
    - jobs that have not moved for `stalled_after`: messages never sent (broker down at upload) or
      lost some other way.
    Sending twice is harmless: expansion and classification skip what is already done."""
    now = timezone.now()
    cutoff = now - stalled_after
    since = broker.memory_since()
    stalled = Q(created_at__lt=cutoff) & (Q(progressed_at__isnull=True) | Q(progressed_at__lt=cutoff))
    if since is not None:
        stalled |= Q(created_at__lt=since)
    count = 0
    for job in Job.objects.exclude(status__in=FINISHED_STATUSES).filter(stalled).only(*SWEEP_FIELDS):
        if (job.progressed_at or job.created_at) < cutoff or _lost_with_the_broker(job, since=since, now=now):
            _send_again(job)
            count += 1
    return count


def resend_lost_callbacks(*, stalled_after: timedelta) -> int:
    """Queue again the callbacks of jobs that ended `stalled_after` ago and whose callback was never tried:
    its message was lost (the broker down or restarted empty when the job ended). At most once per
    `stalled_after` a job (its progressed_at marks the sending); a callback may arrive twice, never not at all."""
    cutoff = timezone.now() - stalled_after
    lost = Job.objects.filter(
        Q(progressed_at__isnull=True) | Q(progressed_at__lt=cutoff),
        callback_status=CallbackStatus.PENDING,
        callback_attempts=0,
        finished_at__lt=cutoff,
    )
    job_ids = list(lost.values_list("id", flat=True))
    Job.objects.filter(id__in=job_ids).update(progressed_at=timezone.now())
    for job_id in job_ids:
        _queue_callback(job_id)
    return len(job_ids)


def _lost_with_the_broker(job: Job, *, since, now) -> bool:
    """Created before the broker started empty, and standing still for long enough that the chunks
    running then have ended. A job already sent again since has moved at `since + settle` or later."""
    settle = _settle_time(job)
    last_move = job.progressed_at or job.created_at
    if since is None or job.created_at >= since:
        return False
    return last_move < since + settle <= now and last_move < now - settle


def _settle_time(job: Job) -> timedelta:
    """A few of the job's own chunk times, from the seconds its chunks have taken so far."""
    worker_seconds = sum(getattr(job, field) for field in TIMING_FIELDS)
    chunk_seconds = worker_seconds / job.processed * settings.OCR_CHUNK_SIZE if job.processed else 0
    return timedelta(seconds=max(SETTLE_MIN_SECONDS, SETTLE_CHUNKS * chunk_seconds))


def _send_again(job: Job) -> None:
    if job.expanded_at is None:
        _queue_expansion(job.id)
    pending = job.images.filter(status=Image.Status.PENDING).order_by("position").values_list("id", flat=True)
    _queue_in_chunks(job.id, list(pending))
    Job.objects.filter(id=job.id).update(progressed_at=timezone.now())
    finish_job_if_complete(job_id=job.id)  # its last step may have died between its results and its ending
    logger.warning("job requeued job_id=%s", job.id)


def queue_each_alone(*, job_id, image_ids) -> None:
    """Every image queued as a chunk of its own."""
    for image_id in image_ids:
        _queue_classification(job_id, [image_id])


def _queue_in_chunks(job_id, image_ids) -> None:
    for start in range(0, len(image_ids), settings.OCR_CHUNK_SIZE):
        _queue_classification(job_id, image_ids[start : start + settings.OCR_CHUNK_SIZE])


def _queue_expansion(job_id) -> None:
    from worker.tasks import expand_zip

    _send(expand_zip, str(job_id), queue="expand")


def _queue_classification(job_id, image_ids) -> None:
    """Chunks of small jobs go to the interactive queue, ahead of the chunks of big zips."""
    from worker.tasks import classify_chunk

    small = Job.objects.filter(id=job_id, total__lte=settings.OCR_CHUNK_SIZE).exists()
    _send(classify_chunk, str(job_id), list(image_ids), queue="interactive" if small else "classify")


def _send(task, *args, queue: str) -> None:
    """Queue a task. Whatever goes wrong while sending (broker down, a transport that cannot load), the
    upload is kept and the sweep sends the work later: an accepted upload is never a server error."""
    try:
        task.apply_async(args, queue=settings.OCR_QUEUES[queue])
    except Exception as exc:
        logger.warning("task not sent, %s%s left for the sweep: %r", task.name, args[:1], exc)

"""Deleting jobs with everything they stored, whoever asks: the API, the job page, the admin, the
retention pass, or a deleted account (whose jobs go by cascade).

Whatever deletes a Job row, its files go once the deletion is committed (the post_delete receiver
below): the upload and the extracted images, all named under jobs/<job id>/. Thumbnails and exports
are made on each request and never stored. A worker still busy with the job may write a file after
that: the expansion notices the job is gone and deletes the prefix again (uploads/services.py)."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from uploads.models import FINISHED_STATUSES, Image, Job
from uploads.stored_files import JOBS_FOLDER, delete_files_under, files_under, job_prefix

logger = logging.getLogger(__name__)

# Image rows deleted per statement, so deleting a 100,000-image job never holds one long transaction.
IMAGE_ROWS_PER_DELETE = 5000
# Jobs deleted by one retention pass; the task queues the next pass while there are more.
JOBS_PER_RETENTION_PASS = 50


def delete_job(*, job_id) -> bool:
    """Delete a job, its results and every file it stored; False if there is no such job. A job
    still running is cancelled first (without a callback), so its queued work stops at once."""
    Job.objects.filter(id=job_id).exclude(status__in=FINISHED_STATUSES).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now()
    )
    while _delete_some_images(job_id=job_id):
        pass
    with transaction.atomic():
        # Locked, so an expansion inserting images now fails on the missing job instead of leaving rows.
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None:
            return False
        Image.objects.filter(job_id=job_id).delete()
        job.delete()
    logger.info("job deleted job_id=%s", job_id)
    return True


def _delete_some_images(*, job_id) -> int:
    batch = Image.objects.filter(job_id=job_id).values_list("id", flat=True)[:IMAGE_ROWS_PER_DELETE]
    deleted, _ = Image.objects.filter(id__in=list(batch)).delete()
    return deleted


@receiver(post_delete, sender=Job, dispatch_uid="delete_job_files")
def _delete_files_of_deleted_job(sender, instance, using, **kwargs):
    job_id = instance.id
    transaction.on_commit(lambda: delete_job_files(job_id=job_id), using=using)


def delete_job_files(*, job_id) -> int:
    count = delete_files_under(job_prefix(job_id))
    if count:
        logger.info("job files deleted job_id=%s files=%d", job_id, count)
    return count


def delete_expired_jobs(*, retention_days: int, limit: int) -> int:
    """Delete up to `limit` jobs that ended more than `retention_days` ago, oldest first, each in
    its own short transactions; 0 days keeps every job. Returns how many were deleted."""
    if retention_days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=retention_days)
    expired = (
        Job.objects.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff)
        .order_by("finished_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(delete_job(job_id=job_id) for job_id in list(expired))


@dataclass
class Usage:
    files: int = 0
    bytes: int = 0
    newest: float = 0.0  # the newest file's time, as a Unix timestamp

    def add(self, stored) -> None:
        self.files += 1
        self.bytes += stored.size
        self.newest = max(self.newest, stored.modified.timestamp())


@dataclass
class StorageReport:
    jobs: dict[str, Usage] = field(default_factory=dict)  # job id -> its files
    orphans: dict[str, Usage] = field(default_factory=dict)  # folder under jobs/ of no job -> its files


def storage_report() -> StorageReport:
    """What storage holds under jobs/, per job, and the folders that belong to no job."""
    usage: dict[str, Usage] = {}
    for stored in files_under(JOBS_FOLDER):
        folder = stored.name[len(JOBS_FOLDER) :].split("/", 1)[0]
        usage.setdefault(folder, Usage()).add(stored)
    existing = _existing_job_ids(list(usage))
    report = StorageReport()
    for folder, folder_usage in usage.items():
        (report.jobs if folder in existing else report.orphans)[folder] = folder_usage
    return report


def _existing_job_ids(folders: list[str]) -> set[str]:
    ids = set()
    for start in range(0, len(folders), 1000):
        candidates = [folder for folder in folders[start : start + 1000] if _is_uuid(folder)]
        ids |= {str(job_id) for job_id in Job.objects.filter(id__in=candidates).values_list("id", flat=True)}
    return ids


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def delete_orphans(*, report: StorageReport, grace: timedelta) -> list[str]:
    """Delete the orphan folders of `report` whose newest file is older than `grace`: an upload is
    stored a moment before its job row is committed, and must not be mistaken for an orphan."""
    cutoff = time.time() - grace.total_seconds()
    removed = [folder for folder, usage in report.orphans.items() if usage.newest < cutoff]
    for folder in removed:
        delete_files_under(f"{JOBS_FOLDER}{folder}/")
        logger.warning("orphan files deleted folder=%s files=%d", folder, report.orphans[folder].files)
    return removed

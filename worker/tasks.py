"""Celery tasks: thin wrappers that load ids and call services.

A task is acknowledged only after it ends (acks_late, reject_on_worker_lost in the settings), so a
chunk whose worker is killed is delivered again; the services write only rows still pending, so a
second delivery changes nothing already written."""

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings

from recognition import callbacks
from uploads import deletion
from uploads import services as upload_services
from worker import services
from worker.model import readers_for_chunk

RETRY = {"autoretry_for": (Exception,), "retry_backoff": 2, "retry_backoff_max": 60, "max_retries": 3}


class ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries: the chunk's images get the reason as their error, so the job still ends."""
        job_id, image_ids = args
        services.give_up_chunk(job_id=job_id, image_ids=image_ids, reason=f"classification failed: {exc}")


class ExpansionTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        upload_services.fail_job(job_id=args[0], reason=f"the upload could not be expanded: {exc}")


@shared_task(base=ExpansionTask, **RETRY)
def expand_zip(job_id: str) -> None:
    upload_services.expand_zip_job(job_id=job_id)


@shared_task(base=ChunkTask, bind=True, **RETRY)
def classify_chunk(self, job_id: str, image_ids: list[int]) -> int:
    classifier, line_reader = readers_for_chunk()
    return services.classify_chunk(
        job_id=job_id,
        image_ids=image_ids,
        classifier=classifier,
        line_reader=line_reader,
        worker_name=self.request.hostname or "",
        attempt=self.request.retries or 0,
    )


@shared_task
def requeue_stalled_jobs() -> int:
    stalled_after = timedelta(seconds=settings.OCR_STALL_SECONDS)
    jobs = upload_services.requeue_stalled_jobs(stalled_after=stalled_after)
    return jobs + upload_services.resend_lost_callbacks(stalled_after=stalled_after)


@shared_task
def delete_expired_jobs() -> int:
    """One retention pass; the next one follows at once while a full pass leaves more to delete."""
    limit = deletion.JOBS_PER_RETENTION_PASS
    deleted = deletion.delete_expired_jobs(retention_days=settings.OCR_RETENTION_DAYS, limit=limit)
    if deleted == limit:
        delete_expired_jobs.apply_async(queue=settings.OCR_QUEUES["maintenance"])
    return deleted


class CallbackTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        callbacks.give_up_callback(job_id=args[0], reason=f"not delivered after {self.max_retries + 1} attempts: {exc}")


@shared_task(
    base=CallbackTask,
    autoretry_for=(Exception,),
    dont_autoretry_for=(callbacks.CallbackRefused,),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=settings.OCR_CALLBACK_MAX_RETRIES,
)
def deliver_callback(job_id: str) -> None:
    callbacks.deliver_callback(job_id=job_id)

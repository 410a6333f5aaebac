"""Celery tasks: thin wrappers that load ids and call services."""

from celery import shared_task

from uploads import services as upload_services
from worker import services
from worker.model import get_classifier


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def expand_zip(job_id: str) -> None:
    upload_services.expand_zip_job(job_id=job_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def classify_chunk(job_id: str, image_ids: list[int]) -> int:
    return services.classify_chunk(job_id=job_id, image_ids=image_ids, classifier=get_classifier())

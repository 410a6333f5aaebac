"""Jobs made directly in the database, for tests of what the pages and the API show while a job runs."""

import numpy as np
from django.utils import timezone

from uploads.models import Image, Job
from worker.services import digit_row, save_results


def running_job(images: int, *, expanded: bool = True) -> Job:
    """A running zip job whose `images` images wait for their result (the stored files do not exist)."""
    now = timezone.now()
    job = Job.objects.create(
        kind=Job.Kind.ZIP,
        upload_name="batch.zip",
        total=images,
        status=Job.Status.RUNNING,
        started_at=now,
        expanded_at=now if expanded else None,
    )
    Image.objects.bulk_create(
        Image(job=job, position=index, name=f"{index}.png", file=f"jobs/{job.id}/images/{index}")
        for index in range(images)
    )
    return job


def read_first(job: Job, count: int) -> None:
    """Store a 7 read with confidence 0.91 for the job's first `count` images, as a worker does."""
    ids = job.images.order_by("position").values_list("id", flat=True)[:count]
    probabilities = np.full(10, 0.01)
    probabilities[7] = 0.91
    save_results(
        job_id=job.id, rows=[digit_row(image_id, probabilities, threshold=0.95) for image_id in ids], model_version="m"
    )

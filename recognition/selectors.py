"""Reading jobs and results for pages and the API."""

from django.shortcuts import get_object_or_404

from uploads.models import Image, Job


def get_job(*, job_id) -> Job:
    return get_object_or_404(Job, id=job_id)


def jobs_of(*, user):
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(owner=user)


def job_results(*, job: Job):
    return Image.objects.filter(job=job).order_by("position").only(
        "id", "job_id", "position", "name", "status", "digit", "confidence", "top", "error", "model_version", "file"
    )


def get_image(*, job_id, image_id) -> Image:
    return get_object_or_404(Image, job_id=job_id, id=image_id)

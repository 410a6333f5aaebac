"""Reading jobs and results for pages and the API, with who may see what.

A job belongs to its creator; an anonymous job is reachable by anyone holding its unguessable id.
Someone else's job answers 404, exactly like a job that does not exist."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from uploads.models import Image, Job


def get_job(*, job_id, user) -> Job:
    job = get_object_or_404(Job, id=job_id)
    if job.owner_id is not None and job.owner_id != user.id:
        raise Http404("No Job matches the given query.")
    return job


def jobs_of(*, user):
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(owner=user)


def job_results(*, job: Job):
    return Image.objects.filter(job=job).order_by("position").only(
        "id", "job_id", "position", "name", "status", "digit", "confidence", "top", "error", "model_version", "file"
    )


def get_image(*, job_id, image_id, user) -> Image:
    job = get_job(job_id=job_id, user=user)
    return get_object_or_404(Image, job=job, id=image_id)

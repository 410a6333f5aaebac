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


RESULT_FIELDS = [
    "id",
    "job_id",
    "position",
    "name",
    "status",
    "digit",
    "confidence",
    "top",
    "text",
    "digits",
    "error",
    "model_version",
    "file",
    "needs_review",
    "corrected_label",
    "corrected_by__username",
    "corrected_at",
]


def job_results(*, job: Job, needs_review: bool = False):
    """A job's results in upload order, or only the flagged ones, least confident first."""
    results = Image.objects.filter(job=job).select_related("corrected_by").only(*RESULT_FIELDS)
    if needs_review:
        return results.filter(needs_review=True).order_by("confidence", "position")
    return results.order_by("position")


def get_result(*, job: Job, result_id) -> Image:
    return get_object_or_404(Image.objects.select_related("corrected_by"), job=job, id=result_id)


def export_rows(*, job: Job):
    return (
        Image.objects.filter(job=job)
        .order_by("position")
        .only(
            "name", "status", "digit", "text", "confidence", "needs_review", "corrected_label", "error", "model_version"
        )
        .iterator(chunk_size=2000)
    )


def get_image(*, job_id, image_id, user) -> Image:
    job = get_job(job_id=job_id, user=user)
    return get_object_or_404(Image, job=job, id=image_id)

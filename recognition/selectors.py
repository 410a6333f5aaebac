"""Reading jobs and results for pages and the API, with who may see what.

A job belongs to its creator; an anonymous job is reachable by anyone holding its unguessable id.
Someone else's job answers 404, exactly like a job that does not exist."""

from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import get_object_or_404

from uploads.models import Image, Job


def get_job(*, job_id, user) -> Job:
    job = get_object_or_404(Job, id=job_id)
    if job.owner_id is not None and job.owner_id != user.id:
        raise Http404("No Job matches the given query.")
    return job


def get_job_to_delete(*, job_id, user) -> Job:
    """Staff may delete any job (as in the admin); anyone else, the jobs they may read."""
    if user.is_staff:
        return get_object_or_404(Job, id=job_id)
    return get_job(job_id=job_id, user=user)


def jobs_of(*, user):
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(owner=user)


# What a results page shows, read as plain values: no model instances, the corrector's name joined.
RESULT_COLUMNS = (
    "id",
    "position",
    "name",
    "status",
    "digit",
    "confidence",
    "text",
    "error",
    "model_version",
    "file",
    "member_offset",
    "needs_review",
    "corrected_label",
    "corrected_text",
    "corrected_by__username",
    "corrected_at",
)
# The JSON columns as their text: serializers.results_data decodes a whole page in one call, where
# decoding each value apart (two per row) was half the cost of reading a page.
JSON_TEXT_COLUMNS = {"top_json": Cast("top", TextField()), "digits_json": Cast("digits", TextField())}


def job_results(*, job: Job, needs_review: bool = False):
    """A job's results as plain values, for the paginator: in upload order, or only the flagged ones,
    least confident first."""
    results = Image.objects.filter(job=job).values(*RESULT_COLUMNS, **JSON_TEXT_COLUMNS)
    if needs_review:
        return results.filter(needs_review=True).order_by("confidence", "position")
    return UploadOrder(job, results.order_by("position"))


class UploadOrder:
    """A job's results in upload order, as the paginator takes them. Every member of a zip has its
    row at positions 0, 1, 2... (a prefix of them while the zip is expanded), so the job's total
    counts them once expanded, and a page is a range of positions on the (job, position) index.
    OFFSET and LIMIT let PostgreSQL, whose statistics predate a big new job, sort all the job's rows
    for every page: 25 ms instead of 0.2 ms for the first 100 of 10,000."""

    def __init__(self, job: Job, results):
        self.job, self.results = job, results

    def count(self) -> int:
        return self.job.total if self.job.expanded_at is not None else self.results.count()

    def __getitem__(self, page: slice):
        return self.results.filter(position__gte=page.start, position__lt=page.stop)


def get_result(*, job: Job, result_id) -> Image:
    return get_object_or_404(Image.objects.select_related("corrected_by"), job=job, id=result_id)


def export_rows(*, job: Job):
    return (
        Image.objects.filter(job=job)
        .order_by("position")
        .only(
            "name",
            "status",
            "digit",
            "text",
            "confidence",
            "needs_review",
            "corrected_label",
            "corrected_text",
            "error",
            "model_version",
        )
        .iterator(chunk_size=2000)
    )


def get_image(*, job_id, image_id, user) -> Image:
    job = get_job(job_id=job_id, user=user)
    image = get_object_or_404(Image, job=job, id=image_id)
    image.job = job  # its thumbnail is read from the job's stored zip: no second query for the job
    return image

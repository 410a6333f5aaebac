import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


def upload_path(job, filename):
    """Stored names are generated; the uploaded name is kept only as data."""
    return f"jobs/{job.id}/upload/{uuid.uuid4().hex}"


def image_path(image, filename):
    return f"jobs/{image.job_id}/images/{uuid.uuid4().hex}"


def default_review_threshold():
    return settings.OCR_REVIEW_THRESHOLD


class CallbackStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        IMAGE = "image"
        ZIP = "zip"

    class Mode(models.TextChoices):
        DIGIT = "digit", "one digit per image"
        NUMBER = "number", "a number (a line of digits) per image"
        AUTO = "auto", "chosen per image: one digit, or a number"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.AUTO)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    upload = models.FileField(upload_to=upload_path, max_length=255)
    upload_name = models.CharField(max_length=255)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    review_threshold = models.FloatField(default=default_review_threshold)
    # Lines: whether a result's text keeps the decimal point, comma and minus sign ("19277.7") or gives
    # the digits alone ("192777"); `digits` never holds them.
    keep_separators = models.BooleanField(default=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    callback_status = models.CharField(max_length=16, choices=CallbackStatus.choices, blank=True)
    callback_attempts = models.PositiveSmallIntegerField(default=0)
    callback_error = models.TextField(blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Seconds spent by all chunks together, for the benchmark's breakdown of where time goes.
    read_seconds = models.FloatField(default=0)
    inference_seconds = models.FloatField(default=0)
    write_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    expanded_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Last time any result was counted: the sweep re-sends the work of jobs that stopped moving.
    progressed_at = models.DateTimeField(null=True, blank=True)
    # Corrections recorded on its results: with the counters, what tells a results page has changed.
    corrections = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self):
        return f"{self.upload_name} ({self.status})"

    @property
    def is_finished(self):
        return self.status in FINISHED_STATUSES


FINISHED_STATUSES = [Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED]


# A correction's text: the line reader's alphabet, at least one digit; empty when there is none.
CORRECTED_TEXT = RegexValidator(
    r"^((?=.*[0-9])[0-9.,-]+)?$", "Digits, with the decimal point, comma or minus sign where the image shows them."
)


class Image(models.Model):
    """One image of a job, and what the network read in it (or why it could not)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        ERROR = "error"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=1024)
    file = models.FileField(upload_to=image_path, max_length=255, blank=True)
    # A zip member is not copied into a file of its own: its bytes are read from the job's stored zip.
    member_offset = models.BigIntegerField(null=True, blank=True)
    member_size = models.BigIntegerField(null=True, blank=True)
    member_compression = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    digit = models.PositiveSmallIntegerField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    top = models.JSONField(null=True, blank=True)
    text = models.CharField(max_length=64, blank=True)
    digits = models.JSONField(null=True, blank=True)  # [{"digit", "confidence", "box": [l, t, r, b]}]
    error = models.TextField(blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    processed_by = models.CharField(max_length=255, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    # What a person says the image shows: the text, separators kept, and the digit when it is one.
    corrected_text = models.CharField(max_length=64, blank=True, validators=[CORRECTED_TEXT])
    corrected_label = models.PositiveSmallIntegerField(null=True, blank=True)
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    corrected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="unique_image_position")]
        indexes = [models.Index(fields=["job", "needs_review", "confidence"], name="review_queue")]

    @property
    def has_picture(self) -> bool:
        return bool(self.file) or self.member_offset is not None

    @property
    def label(self):
        """What the image shows as far as anyone knows: the correction, else the prediction."""
        return self.corrected_label if self.corrected_label is not None else self.digit

    def __str__(self):
        return self.name


# Images whose picture is stored (as a file of its own or as a member of the job's zip).
WITH_PICTURE = ~models.Q(file="") | models.Q(member_offset__isnull=False)

"""Network versions as data, and the fine-tuning runs that make new ones from people's corrections."""

import uuid

from django.conf import settings
from django.db import models


def artifact_path(version, filename):
    return f"models/{version.kind}/{version.version}/{filename}"


class ModelVersion(models.Model):
    """One network artifact: the committed ones are the first versions, fine-tuning adds candidates.
    Workers read with the current version of each kind (the one promoted last)."""

    class Kind(models.TextChoices):
        DIGIT = "digit"
        LINE = "line"

    class Status(models.TextChoices):
        CANDIDATE = "candidate"  # being evaluated
        PROMOTED = "promoted"  # was current at some time (or is)
        REJECTED = "rejected"  # not better on the corrections, or worse on the base sets

    kind = models.CharField(max_length=8, choices=Kind.choices)
    version = models.CharField(max_length=64)  # first 12 hex of the .tflite's sha256, as results record it
    network = models.FileField(upload_to=artifact_path, max_length=255)  # the .tflite, through the storage API
    keras = models.FileField(upload_to=artifact_path, max_length=255, blank=True)  # what fine-tuning starts from
    trained_from = models.JSONField(default=dict)  # base version, corrections, replay sample, command
    figures = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="unique_model_version"),
            models.UniqueConstraint(fields=["kind"], condition=models.Q(is_current=True), name="one_current_per_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.version} ({self.status}{', current' if self.is_current else ''})"


class FineTune(models.Model):
    """One fine-tuning of the current network of a kind on every correction of that kind so far."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=ModelVersion.Kind.choices, default=ModelVersion.Kind.DIGIT)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    base = models.ForeignKey(ModelVersion, null=True, on_delete=models.SET_NULL, related_name="+")
    candidate = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    promoted = models.BooleanField(default=False)
    figures = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

from django.urls import reverse
from rest_framework import serializers

from recognition.callbacks import CallbackRefused, check_callback_url
from uploads.models import Image, Job


class JobSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="upload_name", read_only=True)
    url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    cancel_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "status",
            "kind",
            "mode",
            "name",
            "total",
            "processed",
            "failed",
            "flagged",
            "error",
            "review_threshold",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "results_url",
            "page_url",
            "cancel_url",
            "callback_url",
            "callback_status",
            "callback_attempts",
            "callback_error",
            "callback_delivered_at",
        ]
        read_only_fields = fields

    def _absolute(self, path) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, job) -> str:
        return self._absolute(reverse("api:job-detail", args=[job.id]))

    def get_results_url(self, job) -> str:
        return self._absolute(reverse("api:job-results", args=[job.id]))

    def get_page_url(self, job) -> str:
        return self._absolute(reverse("recognition:job", args=[job.id]))

    def get_cancel_url(self, job) -> str:
        return self._absolute(reverse("api:job-cancel", args=[job.id]))


class JobCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text="One image (PNG, JPEG, GIF, BMP, TIFF, WebP, ...) or one .zip of images."
    )
    mode = serializers.ChoiceField(
        choices=Job.Mode.choices,
        required=False,
        help_text="digit: one digit per image; number: a line of digits per image; auto (default): chosen per image.",
    )
    review_threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Results less confident than this are flagged for review (default OCR_REVIEW_THRESHOLD).",
    )
    callback_url = serializers.URLField(
        required=False, max_length=2000, help_text="Receives the job's status JSON, signed, when the job ends."
    )

    def validate_callback_url(self, url):
        try:
            check_callback_url(url)
        except CallbackRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return url


class CorrectionSerializer(serializers.Serializer):
    label = serializers.IntegerField(min_value=0, max_value=9, help_text="The digit the image really shows.")


class TopSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    probability = serializers.FloatField()


class DigitReadingSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    confidence = serializers.FloatField()
    box = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="[left, top, right, bottom]"
    )


class ResultSerializer(serializers.ModelSerializer):
    top = TopSerializer(many=True, allow_null=True)
    digits = DigitReadingSerializer(many=True, allow_null=True)
    thumbnail_url = serializers.SerializerMethodField()
    corrected_by = serializers.CharField(source="corrected_by.username", default=None, read_only=True)
    label = serializers.IntegerField(read_only=True, allow_null=True, help_text="The correction, else the prediction.")

    class Meta:
        model = Image
        fields = [
            "id",
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
            "needs_review",
            "label",
            "corrected_label",
            "corrected_by",
            "corrected_at",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, image) -> str | None:
        if not image.file:
            return None
        return reverse("recognition:thumbnail", args=[image.job_id, image.id])

from django.urls import reverse
from rest_framework import serializers

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
            "id", "status", "kind", "name", "total", "processed", "failed", "error",
            "created_at", "started_at", "finished_at", "url", "results_url", "page_url", "cancel_url",
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
    file = serializers.FileField(help_text="One image (PNG, JPEG, GIF, BMP, TIFF, WebP, ...) or one .zip of images.")


class TopSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    probability = serializers.FloatField()


class ResultSerializer(serializers.ModelSerializer):
    top = TopSerializer(many=True, allow_null=True)
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id", "position", "name", "status", "digit", "confidence", "top", "error", "model_version",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, image) -> str | None:
        if not image.file:
            return None
        return reverse("recognition:thumbnail", args=[image.job_id, image.id])

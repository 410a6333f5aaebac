from django.contrib import admin, messages

from uploads.models import Image, Job
from uploads.services import rerun_failed_images


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "upload_name", "kind", "status", "total", "processed", "failed", "flagged", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["id", "upload_name"]
    readonly_fields = [
        "total",
        "processed",
        "failed",
        "flagged",
        "created_at",
        "started_at",
        "expanded_at",
        "finished_at",
        "callback_status",
        "callback_attempts",
        "callback_error",
        "callback_delivered_at",
    ]
    actions = ["rerun_failed"]

    @admin.action(description="Re-run the failed images of the selected jobs")
    def rerun_failed(self, request, queryset):
        count = sum(rerun_failed_images(job_id=job.id) for job in queryset)
        self.message_user(request, f"{count} images sent again", messages.SUCCESS)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["name", "job", "status", "digit", "confidence", "needs_review", "corrected_label", "model_version"]
    list_filter = ["status", "needs_review"]
    search_fields = ["name", "job__id"]
    readonly_fields = [
        "digit",
        "confidence",
        "top",
        "error",
        "model_version",
        "processed_by",
        "processed_at",
        "corrected_by",
        "corrected_at",
    ]
    list_select_related = ["job"]
    raw_id_fields = ["job", "corrected_by"]

from django.contrib import admin, messages
from django.db import transaction

from uploads.deletion import delete_job
from uploads.models import Image, Job
from uploads.services import JobNotEnded, correct_result, count_edit, rerun_failed_images


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

    def delete_model(self, request, obj):
        delete_job(job_id=obj.id)

    def delete_queryset(self, request, queryset):
        """The admin's "delete selected" action: each job with its files, not a bare cascade of rows."""
        for job_id in queryset.values_list("id", flat=True):
            delete_job(job_id=job_id)

    @admin.action(description="Re-run the failed images of the selected jobs")
    def rerun_failed(self, request, queryset):
        count = 0
        for job in queryset:
            try:
                count += rerun_failed_images(job_id=job.id)
            except JobNotEnded as exc:
                self.message_user(request, f"{job}: {exc}", messages.WARNING)
        self.message_user(request, f"{count} images sent again", messages.SUCCESS)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["name", "job", "status", "text", "confidence", "needs_review", "corrected_text", "model_version"]
    list_filter = ["status", "needs_review"]
    search_fields = ["name", "job__id"]
    # What the worker writes and the job's counters count: an edit here would race a re-read's result and
    # leave the counters wrong. People correct a result with corrected_text (the digit follows from it).
    readonly_fields = [
        "status",
        "digit",
        "confidence",
        "top",
        "text",
        "digits",
        "needs_review",
        "error",
        "model_version",
        "processed_by",
        "processed_at",
        "corrected_label",
        "corrected_by",
        "corrected_at",
    ]
    list_select_related = ["job"]
    raw_id_fields = ["job", "corrected_by"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if form is not None and "corrected_text" in form.changed_data:
                correct_result(image=obj, text=obj.corrected_text, user=request.user)  # counts the edit
            else:
                count_edit(job_id=obj.job_id)

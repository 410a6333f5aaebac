from django.contrib import admin

from uploads.models import Image, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "upload_name", "kind", "status", "total", "processed", "failed", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["id", "upload_name"]
    readonly_fields = ["total", "processed", "failed", "created_at", "started_at", "expanded_at", "finished_at"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["name", "job", "status", "digit", "confidence", "model_version"]
    list_filter = ["status"]
    search_fields = ["name", "job__id"]
    readonly_fields = ["digit", "confidence", "top", "error", "model_version", "processed_at"]
    list_select_related = ["job"]

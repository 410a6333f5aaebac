from django.contrib import admin

from learning.models import FineTune, ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "status", "is_current", "created_at", "promoted_at", "promoted_by"]
    list_filter = ["kind", "status", "is_current"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields]


@admin.register(FineTune)
class FineTuneAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "stage", "progress", "promoted", "created_at", "finished_at"]
    readonly_fields = [field.name for field in FineTune._meta.fields]

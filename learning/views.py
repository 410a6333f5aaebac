from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from learning import services
from learning.models import FineTune, ModelVersion


@staff_member_required
@require_GET
def models_page(request):
    """The versions and the fine-tuning runs; the page reloads itself while a run is going."""
    services.ensure_bundled_versions()
    runs = FineTune.objects.select_related("base", "candidate")[:20]
    context = {
        "versions": ModelVersion.objects.select_related("promoted_by")[:50],
        "runs": runs,
        "running": any(run.status in (FineTune.Status.QUEUED, FineTune.Status.RUNNING) for run in runs),
        "corrections": services.correction_counts(),
        "min_corrections": services.MIN_CORRECTIONS,
    }
    return render(request, "learning/models.html", context)

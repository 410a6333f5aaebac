from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.defaults import page_not_found

from ml.preprocess import ImageError
from recognition import selectors
from recognition.forms import UploadForm
from recognition.services import make_thumbnail
from recognition.throttling import UploadRateThrottle
from uploads.ingestion import UploadError
from uploads.services import create_job


@require_http_methods(["GET", "POST"])
def home(request):
    if settings.OCR_REQUIRE_LOGIN and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not UploadRateThrottle().allow_request(request, None):
        form.add_error(None, "too many uploads: wait a minute and try again")
        return render(request, "recognition/home.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        owner = request.user if request.user.is_authenticated else None
        try:
            job = create_job(upload=form.cleaned_data["file"], owner=owner, **form.job_options())
        except UploadError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("recognition:job", job_id=job.id)
    status = 400 if form.errors else 200
    return render(request, "recognition/home.html", {"form": form}, status=status)


@require_GET
def job_page(request, job_id):
    job = selectors.get_job(job_id=job_id, user=request.user)
    return render(request, "recognition/job.html", {"job": job})


@require_GET
def thumbnail(request, job_id, image_id):
    image = selectors.get_image(job_id=job_id, image_id=image_id, user=request.user)
    try:
        png = make_thumbnail(image=image) if image.has_picture else None
    except (ImageError, OSError):
        png = None
    if png is None:
        return HttpResponse(status=404)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def not_found(request, exception):
    """Django's 404 page, except under /api/: an API client reads JSON there, like every other API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)

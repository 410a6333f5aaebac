"""Refusing a request body larger than an upload may be before anything reads it: Django spools a file
part to disk whole before a view can look at its size, so a 50 GB body would fill the disk first."""

from django.conf import settings
from django.http import JsonResponse

FORM_OVERHEAD = 1 << 20  # the multipart form's own bytes around the file and the job's options


class UploadSizeLimit:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        limit = settings.OCR_MAX_UPLOAD_BYTES
        if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
            return JsonResponse({"detail": f"upload too large: {declared} bytes (limit {limit})"}, status=413)
        return self.get_response(request)

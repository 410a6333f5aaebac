import PIL.Image
from django.apps import AppConfig
from django.conf import settings


class UploadsConfig(AppConfig):
    name = "uploads"

    def ready(self):
        # Pillow's own guard against decompression bombs, set far below its default: digits are small.
        PIL.Image.MAX_IMAGE_PIXELS = settings.OCR_MAX_IMAGE_PIXELS
        from uploads import deletion  # noqa: F401  (connects the receiver that deletes a deleted job's files)

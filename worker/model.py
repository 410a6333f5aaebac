"""The worker's model lifecycle: loaded once in each worker process after Celery forks it (a model
loaded before the fork hangs in the children), never per task."""

import logging

from celery.signals import worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

_classifier = None


def load_classifier():
    global _classifier
    from ml.inference import DigitClassifier

    _classifier = DigitClassifier.load(settings.OCR_MODEL_PATH, num_threads=settings.OCR_INFERENCE_THREADS)
    logger.info("model loaded version=%s path=%s", _classifier.version, settings.OCR_MODEL_PATH)
    return _classifier


@worker_process_init.connect
def _load_in_worker_process(**kwargs):
    load_classifier()


def get_classifier():
    """The process's classifier; loaded on first use where no worker_process_init ran (solo pool)."""
    return _classifier or load_classifier()

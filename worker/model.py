"""The worker's model lifecycle: loaded once in each worker process after Celery forks it (a model
loaded before the fork hangs in the children), never per task."""

import logging

from celery.signals import worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

_classifier = None
_line_reader = None


def load_classifier():
    global _classifier
    from ml.inference import DigitClassifier

    _classifier = DigitClassifier.load(settings.OCR_MODEL_PATH, num_threads=settings.OCR_INFERENCE_THREADS)
    logger.info("model loaded version=%s path=%s", _classifier.version, settings.OCR_MODEL_PATH)
    return _classifier


def load_line_reader():
    global _line_reader
    from ml.lines import LineReader

    path = settings.OCR_LINE_MODEL_PATH
    _line_reader = LineReader.load(path, num_threads=settings.OCR_INFERENCE_THREADS)
    logger.info("line reader loaded version=%s path=%s", _line_reader.version, path)
    return _line_reader


@worker_process_init.connect
def _load_in_worker_process(**kwargs):
    load_classifier()
    load_line_reader()


def get_classifier():
    """The process's classifier; loaded on first use where no worker_process_init ran (solo pool)."""
    return _classifier or load_classifier()


def get_line_reader():
    """The process's line reader, loaded like the classifier."""
    return _line_reader or load_line_reader()

"""The worker's model lifecycle: loaded once in each worker process after Celery forks it (a model
loaded before the fork hangs in the children), never per task; switched to a newly promoted version
before the next chunk (`readers_for_chunk`: one query per chunk, never per image)."""

import logging

from celery.signals import worker_process_init
from django.conf import settings
from django.db import DatabaseError

logger = logging.getLogger(__name__)

_classifier = None
_line_reader = None


def load_classifier(path=None):
    global _classifier
    from ml.inference import DigitClassifier

    path = path or settings.OCR_MODEL_PATH
    _classifier = DigitClassifier.load(path, num_threads=settings.OCR_INFERENCE_THREADS)
    logger.info("model loaded version=%s path=%s", _classifier.version, path)
    return _classifier


def load_line_reader(path=None):
    global _line_reader
    from ml.lines import LineReader

    path = path or settings.OCR_LINE_MODEL_PATH
    _line_reader = LineReader.load(path, num_threads=settings.OCR_INFERENCE_THREADS)
    logger.info("line reader loaded version=%s path=%s", _line_reader.version, path)
    return _line_reader


@worker_process_init.connect
def _load_in_worker_process(**kwargs):
    load_classifier()
    load_line_reader()
    record_committed_networks()


def record_committed_networks() -> None:
    """The committed networks as versions (a newly shipped one becomes current); without a database
    or storage yet, the worker still reads, with the committed networks."""
    from learning.services import ensure_bundled_versions

    try:
        ensure_bundled_versions()
    except (DatabaseError, OSError) as exc:
        logger.warning("network versions not recorded: %r", exc)


def get_classifier():
    """The process's classifier; loaded on first use where no worker_process_init ran (solo pool)."""
    return _classifier or load_classifier()


def get_line_reader():
    """The process's line reader, loaded like the classifier."""
    return _line_reader or load_line_reader()


def readers_for_chunk():
    """(classifier, line reader) of the current versions, so that a chunk is read with exactly one
    version of each. A version promoted since the last chunk is fetched through the storage API (as
    workers on other hosts do) and loaded; with no versions recorded, the committed networks."""
    from learning.models import ModelVersion
    from learning.services import current_versions, local_copy

    current = current_versions()
    digit, line = current.get(ModelVersion.Kind.DIGIT), current.get(ModelVersion.Kind.LINE)
    classifier, line_reader = get_classifier(), get_line_reader()
    if digit and digit.version != classifier.version:
        classifier = load_classifier(local_copy(digit.network, settings.OCR_MODEL_CACHE_DIR))
    if line and line.version != line_reader.version:
        line_reader = load_line_reader(local_copy(line.network, settings.OCR_MODEL_CACHE_DIR))
    return classifier, line_reader

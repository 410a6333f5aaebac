"""The training queue's task. Only the worker started for the `training` queue consumes it: it is the
one process that imports TensorFlow."""

from celery import shared_task
from django.conf import settings

from learning import services

# Not the 5 minutes of every other task: a fine-tune takes a minute or so on a few hundred corrections and
# grows with them. It ends just before OCR_FINE_TUNE_STALL_SECONDS, after which its run is taken for dead.
FINE_TUNE_TIME_LIMIT = max(settings.OCR_FINE_TUNE_STALL_SECONDS - 60, 180)


@shared_task(acks_late=False, soft_time_limit=FINE_TUNE_TIME_LIMIT - 60, time_limit=FINE_TUNE_TIME_LIMIT)
def fine_tune(run_id: str) -> str:
    return str(services.run_fine_tune(run_id=run_id).status)

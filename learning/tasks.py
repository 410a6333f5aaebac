"""The training queue's task. Only the worker started for the `training` queue consumes it: it is the
one process that imports TensorFlow."""

from celery import shared_task

from learning import services


@shared_task(acks_late=False)
def fine_tune(run_id: str) -> str:
    return str(services.run_fine_tune(run_id=run_id).status)

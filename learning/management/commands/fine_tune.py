import time

from django.core.management.base import BaseCommand, CommandError

from learning import services
from learning.models import FineTune, ModelVersion


class Command(BaseCommand):
    help = "Queue a fine-tune of the current digit (or line) network on every correction of its kind (the `training` queue)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=ModelVersion.Kind.values, default=ModelVersion.Kind.DIGIT)
        parser.add_argument("--wait", action="store_true", help="wait for the run to end and print its figures")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--learning-rate", type=float)
        parser.add_argument("--replay", type=int)

    def handle(self, *args, **options):
        settings_ = {key: options[key] for key in services.FINE_TUNE_OPTIONS if options.get(key) is not None}
        try:
            run = services.start_fine_tune(kind=options["kind"], options=settings_)
        except services.LearningError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"fine-tune {run.id} queued")
        while options["wait"] and run.status in (FineTune.Status.QUEUED, FineTune.Status.RUNNING):
            time.sleep(2)
            run.refresh_from_db()
            self.stdout.write(f"  {run.status} {run.stage} {run.progress:.0%}")
        if options["wait"]:
            self.stdout.write(f"{run.status}: promoted={run.promoted} figures={run.figures} {run.error}")

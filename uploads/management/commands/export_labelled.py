from pathlib import Path

from django.core.management.base import BaseCommand

from uploads.services import export_labelled_images


class Command(BaseCommand):
    help = (
        "Write every corrected image as DIR/<digit>/<id>.png: extra training data for `python -m ml train --extra DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory, **options):
        written, skipped = export_labelled_images(directory=directory)
        self.stdout.write(f"{written} labelled images written to {directory}")
        for reason in skipped:
            self.stderr.write(f"skipped {reason}")

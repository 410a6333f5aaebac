from django.core.management.base import BaseCommand, CommandError

from learning import services
from learning.models import ModelVersion


class Command(BaseCommand):
    help = "Make a recorded network version the current one of its kind (a rollback promotes an older one)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ModelVersion.Kind.values)
        parser.add_argument("version", help="the version's 12 hex digits, as results record it")

    def handle(self, *args, **options):
        services.ensure_bundled_versions()
        version = ModelVersion.objects.filter(kind=options["kind"], version=options["version"]).first()
        if version is None:
            raise CommandError(f"no {options['kind']} version {options['version']}")
        services.promote(version)
        self.stdout.write(f"{version.kind} {version.version} is current")

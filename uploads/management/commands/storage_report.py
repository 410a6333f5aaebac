from datetime import timedelta

from django.core.management.base import BaseCommand

from uploads import deletion


class Command(BaseCommand):
    help = "Bytes stored per job, and the files that belong to no job (--delete-orphans removes them)."

    def add_arguments(self, parser):
        parser.add_argument("--delete-orphans", action="store_true", help="delete the files that belong to no job")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=60,
            help="leave orphans with a file newer than this (an upload whose job is being created)",
        )

    def handle(self, *args, delete_orphans=False, grace_minutes=60, **options):
        report = deletion.storage_report()
        for job_id, usage in sorted(report.jobs.items(), key=lambda item: -item[1].bytes):
            self.stdout.write(f"job {job_id}  {usage.files} files  {usage.bytes} bytes")
        for folder, usage in sorted(report.orphans.items()):
            self.stdout.write(f"orphan jobs/{folder}/  {usage.files} files  {usage.bytes} bytes")
        job_bytes = sum(usage.bytes for usage in report.jobs.values())
        orphan_bytes = sum(usage.bytes for usage in report.orphans.values())
        self.stdout.write(
            f"total: {len(report.jobs)} jobs, {job_bytes} bytes; {len(report.orphans)} orphans, {orphan_bytes} bytes"
        )
        if delete_orphans:
            removed = deletion.delete_orphans(report=report, grace=timedelta(minutes=grace_minutes))
            self.stdout.write(f"deleted {len(removed)} orphans")

"""`manage.py ocr_submit PATH... [--output FILE] [--wait/--no-wait]`: create a job from local files
without HTTP (the same upload as `python -m recognition.client` builds), optionally follow it in the
database and write its results as CSV."""

import argparse
import time

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from recognition.client import CSV_COLUMNS, EXIT_REFUSED, ClientError, exit_code_for, pack_paths, write_csv
from uploads.ingestion import UploadError
from uploads.models import Image, Job
from uploads.services import create_job


class Command(BaseCommand):
    help = (
        "Create an OCR job from image files, folders or zips (packed like the HTTP client does) and, with "
        "--wait (the default), follow it until it ends and write its results as CSV "
        "(name, status, digit, confidence, error). Exit 1 when the job fails or is cancelled, 2 when "
        "the upload is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders (recursive) or zips")
        parser.add_argument("--output", "-o", help="CSV file to write (default: standard output)")
        parser.add_argument(
            "--wait",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="follow the job until it ends and write its results (default); --no-wait only creates it",
        )
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between checks (default 0.5)")
        parser.add_argument(
            "--timeout", type=float, default=0, help="stop waiting after this many seconds (default 0: no limit)"
        )
        parser.add_argument("--owner", help="username that owns the job (default: anonymous)")

    def handle(self, *args, paths, output, wait, poll, timeout, owner, **options):
        # The CSV may go to stdout: then what is said about the job goes to stderr.
        info = self.stderr if wait and not output else self.stdout
        job = self._create(paths, self._owner(owner))
        info.write(f"job {job.id} {job.status} ({job.total} images)")
        info.write(f"page {reverse('recognition:job', args=[job.id])}")
        if not wait:
            return
        job = self._wait(job, poll=poll, timeout=timeout, info=info)
        count = self._write(job, output)
        info.write(
            f"job {job.status}: {job.processed}/{job.total} processed, {job.failed} failed, {count} rows"
            + (f" written to {output}" if output else "")
        )
        if job.status != Job.Status.DONE:
            raise CommandError(
                f"job {job.status}" + (f": {job.error}" if job.error else ""), returncode=exit_code_for(job.status)
            )

    def _owner(self, username):
        if not username:
            return None
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {username!r}") from exc

    def _create(self, paths, owner) -> Job:
        try:
            upload = pack_paths(paths)
        except ClientError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from exc
        try:
            return create_job(
                upload=UploadedFile(upload.file, name=upload.name, content_type=upload.content_type, size=upload.size),
                owner=owner,
            )
        except UploadError as exc:
            raise CommandError(f"upload refused: {exc}", returncode=EXIT_REFUSED) from exc
        finally:
            upload.close()

    def _wait(self, job: Job, *, poll: float, timeout: float, info) -> Job:
        deadline = time.monotonic() + timeout if timeout else None
        last = None
        while True:
            job.refresh_from_db(fields=["status", "total", "processed", "failed", "error", "finished_at"])
            state = (job.status, job.processed, job.total, job.failed)
            if state != last:
                info.write(f"{job.status}: {job.processed}/{job.total} processed, {job.failed} failed")
                last = state
            if job.is_finished:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(
                    f"job {job.id} not finished after {timeout:g} s; it goes on "
                    f"({reverse('recognition:job', args=[job.id])})"
                )
            time.sleep(poll)

    def _write(self, job: Job, output) -> int:
        rows = Image.objects.filter(job=job).order_by("position").values(*CSV_COLUMNS).iterator(chunk_size=2000)
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                return write_csv(rows, out)
        return write_csv(rows, self.stdout)

"""Deleting jobs with their files (local storage, the test MEDIA_ROOT): the service, every path that
deletes a job, retention, and the storage report."""

import os
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import digit_png, make_zip
from uploads import deletion, services
from uploads.ingestion import Member
from uploads.models import Image, Job
from uploads.stored_files import files_under, job_prefix

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    monkeypatch.setattr(services, "_queue_expansion", lambda job_id: None)


def expanded_job(count: int = 3, owner=None) -> Job:
    """A zip job whose images are stored as files of their own (members compressed with bzip2 are:
    the readers take deflated or stored members straight from the zip), so that their deletion shows."""
    members = {f"{index}.png": digit_png(index) for index in range(count)}
    upload = SimpleUploadedFile("batch.zip", make_zip(members, compression=zipfile.ZIP_BZIP2))
    job = services.create_job(upload=upload, owner=owner)
    services.expand_zip_job(job_id=job.id)
    return job


def stored_names(job) -> list[str]:
    return [stored.name for stored in files_under(job_prefix(job.id))]


def test_deleting_a_job_removes_its_rows_and_files_and_nothing_of_another_job(django_capture_on_commit_callbacks):
    job, other = expanded_job(3), expanded_job(2)
    assert len(stored_names(job)) == 4 and len(stored_names(other)) == 3  # the zip and its images
    with django_capture_on_commit_callbacks(execute=True):
        assert deletion.delete_job(job_id=job.id) is True
    assert not Job.objects.filter(id=job.id).exists() and not Image.objects.filter(job_id=job.id).exists()
    assert stored_names(job) == []
    assert not default_storage.exists(job_prefix(job.id)), "no empty folders left behind"
    assert len(stored_names(other)) == 3 and other.images.count() == 2
    assert deletion.delete_job(job_id=job.id) is False


def test_deleting_a_running_job_cancels_it_before_its_rows_go(monkeypatch):
    job = expanded_job(2)
    statuses = []
    real_delete = deletion._delete_some_images
    monkeypatch.setattr(
        deletion,
        "_delete_some_images",
        lambda job_id: statuses.append(Job.objects.get(id=job_id).status) or real_delete(job_id=job_id),
    )
    deletion.delete_job(job_id=job.id)
    assert statuses and set(statuses) == {"cancelled"}


def test_image_rows_go_in_bounded_batches(monkeypatch):
    monkeypatch.setattr(deletion, "IMAGE_ROWS_PER_DELETE", 2)
    job = expanded_job(5)
    batches = []
    real_delete = deletion._delete_some_images
    monkeypatch.setattr(
        deletion, "_delete_some_images", lambda job_id: batches.append(real_delete(job_id=job_id)) or batches[-1]
    )
    deletion.delete_job(job_id=job.id)
    assert batches == [2, 2, 1, 0]


def test_an_expansion_that_starts_after_the_deletion_stores_nothing(django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("batch.zip", make_zip({"1.png": digit_png(1)}))
    job = services.create_job(upload=upload)
    stray = default_storage.save(f"{job_prefix(job.id)}images/stray", ContentFile(b"written by an earlier try"))
    with django_capture_on_commit_callbacks(execute=True):
        deletion.delete_job(job_id=job.id)
    default_storage.save(stray, ContentFile(b"written after the deletion"))
    services.expand_zip_job(job_id=job.id)
    assert stored_names(job) == []


@pytest.mark.django_db(transaction=True)
def test_images_stored_while_the_job_was_deleted_are_deleted_by_the_expansion():
    """The expansion stores a chunk's files, then creates their rows: a job deleted in between makes
    the rows fail on the missing job, and the expansion removes the files it just stored."""
    job = expanded_job(1)
    late = [services._image_from_member(job_id=job.id, position=5, member=Member(name="late.png", data=digit_png(4)))]
    with pytest.MonkeyPatch.context() as patch:  # as if these files were stored after the deletion's own pass
        patch.setattr(deletion, "delete_job_files", lambda job_id: 0)
        deletion.delete_job(job_id=job.id)
    assert len(stored_names(job)) == 3
    assert services._save_images(job_id=job.id, images=late) is False
    assert stored_names(job) == []


def test_a_deleted_user_takes_the_files_of_their_jobs(django_capture_on_commit_callbacks):
    user = User.objects.create_user("leaving", password="pw")
    job, kept = expanded_job(2, owner=user), expanded_job(2)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert not Job.objects.filter(id=job.id).exists()
    assert stored_names(job) == [] and len(stored_names(kept)) == 3


def test_the_admin_deletes_jobs_with_their_files(client, django_capture_on_commit_callbacks):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    one, two, kept = expanded_job(1), expanded_job(1), expanded_job(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/uploads/job/",
            {"action": "delete_selected", "_selected_action": [one.id, two.id], "post": "yes"},
        )
        assert response.status_code == 302
        client.post(f"/admin/uploads/job/{kept.id}/delete/", {"post": "yes"})
    assert stored_names(one) == stored_names(two) == stored_names(kept) == []
    assert not Job.objects.exists()


def test_api_delete_is_for_the_owner_staff_or_the_holder_of_an_anonymous_jobs_id(
    django_capture_on_commit_callbacks,
):
    owner, stranger = User.objects.create_user("owner"), User.objects.create_user("stranger")
    staff = User.objects.create_user("staff", is_staff=True)
    mine, anonymous, watched = expanded_job(1, owner=owner), expanded_job(1), expanded_job(1, owner=owner)
    api = APIClient()
    api.force_authenticate(stranger)
    assert api.delete(f"/api/jobs/{mine.id}/").status_code == 404
    assert Job.objects.filter(id=mine.id).exists()
    api.force_authenticate(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/jobs/{mine.id}/").status_code == 204
    second = api.delete(f"/api/jobs/{mine.id}/")
    assert second.status_code == 404 and "detail" in second.json()
    api.force_authenticate(None)
    assert api.delete(f"/api/jobs/{anonymous.id}/").status_code == 204
    api.force_authenticate(staff)
    assert api.delete(f"/api/jobs/{watched.id}/").status_code == 204
    assert stored_names(mine) == [] and not Job.objects.exists()


def test_retention_deletes_jobs_that_ended_before_the_cutoff_and_keeps_the_rest(django_capture_on_commit_callbacks):
    old, recent, running = expanded_job(1), expanded_job(1), expanded_job(1)
    Job.objects.filter(id=old.id).update(status="done", finished_at=timezone.now() - timedelta(days=31))
    Job.objects.filter(id=recent.id).update(status="done", finished_at=timezone.now() - timedelta(days=29))
    Job.objects.filter(id=running.id).update(created_at=timezone.now() - timedelta(days=60))
    assert deletion.delete_expired_jobs(retention_days=0, limit=10) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert deletion.delete_expired_jobs(retention_days=30, limit=10) == 1
    assert set(Job.objects.values_list("id", flat=True)) == {recent.id, running.id}
    assert stored_names(old) == [] and len(stored_names(recent)) == 2


def test_retention_passes_are_bounded_and_the_task_queues_the_next_one(monkeypatch):
    from worker import tasks

    for _ in range(3):
        Job.objects.create(
            kind="image", upload_name="x.png", status="done", finished_at=timezone.now() - timedelta(days=40)
        )
    monkeypatch.setattr(deletion, "JOBS_PER_RETENTION_PASS", 2)
    queued = []
    monkeypatch.setattr(tasks.delete_expired_jobs, "apply_async", lambda **kwargs: queued.append(kwargs))
    assert tasks.delete_expired_jobs() == 2 and len(queued) == 1
    assert tasks.delete_expired_jobs() == 1 and len(queued) == 1
    assert settings.CELERY_BEAT_SCHEDULE["delete-expired-jobs"]["task"] == "worker.tasks.delete_expired_jobs"


def test_storage_report_lists_bytes_per_job_and_deletes_only_old_orphans(capsys):
    job = expanded_job(2)
    old_orphan = default_storage.save("jobs/6d1d5c0e-0000-4000-8000-000000000001/upload/x", ContentFile(b"12345"))
    new_orphan = default_storage.save("jobs/6d1d5c0e-0000-4000-8000-000000000002/upload/x", ContentFile(b"123"))
    old = (timezone.now() - timedelta(hours=2)).timestamp()
    os.utime(default_storage.path(old_orphan), (old, old))

    call_command("storage_report")
    report = capsys.readouterr().out
    job_bytes = sum(stored.size for stored in files_under(job_prefix(job.id)))
    assert f"job {job.id}  3 files  {job_bytes} bytes" in report
    assert "orphan jobs/6d1d5c0e-0000-4000-8000-000000000001/  1 files  5 bytes" in report
    assert default_storage.exists(old_orphan), "a report alone deletes nothing"

    call_command("storage_report", "--delete-orphans")
    assert "deleted" in capsys.readouterr().out
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(new_orphan), "a recent file may be an upload whose job is being created"
    assert len(stored_names(job)) == 3
    default_storage.delete(new_orphan)

import pytest
from django.contrib.auth.models import User

from uploads import services as upload_services
from uploads.models import Image, Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture
def job_with_a_failure():
    job = Job.objects.create(
        kind="zip",
        upload_name="meters.zip",
        total=2,
        processed=2,
        failed=1,
        status="done",
        expanded_at="2026-01-01T00:00Z",
    )
    Image.objects.create(job=job, position=0, name="a/ok.png", status="done", digit=3, confidence=0.9, file="x/ok")
    Image.objects.create(job=job, position=1, name="a/bad.png", status="error", error="flaky storage", file="x/bad")
    return job


def test_jobs_and_results_are_searchable_and_filterable(admin_client, job_with_a_failure):
    assert b"meters.zip" in admin_client.get("/admin/uploads/job/?q=meters").content
    assert b"meters.zip" not in admin_client.get("/admin/uploads/job/?q=nothing-like-it").content
    assert b"meters.zip" in admin_client.get(f"/admin/uploads/job/?q={job_with_a_failure.id}").content
    listing = admin_client.get("/admin/uploads/image/?status__exact=error").content
    assert b"a/bad.png" in listing and b"a/ok.png" not in listing


def test_prediction_fields_are_read_only(admin_client, job_with_a_failure):
    image = Image.objects.get(name="a/ok.png")
    page = admin_client.get(f"/admin/uploads/image/{image.id}/change/").content.decode()
    for written_by_the_worker in ("digit", "confidence", "status", "text", "digits", "needs_review"):
        assert f'name="{written_by_the_worker}"' not in page, written_by_the_worker
    assert 'name="corrected_text"' in page and 'name="corrected_label"' not in page, "the digit follows the text"


@pytest.mark.parametrize(("text", "label"), [("7", 7), ("19.5", None)])
def test_a_correction_made_in_the_admin_records_its_digit_and_who_made_it(
    admin_client, job_with_a_failure, text, label
):
    image = Image.objects.get(name="a/ok.png")
    form = {"job": job_with_a_failure.id, "position": 0, "name": "a/ok.png", "corrected_text": text}
    response = admin_client.post(f"/admin/uploads/image/{image.id}/change/", {**form, "file": "x/ok"})
    assert response.status_code == 302, response.content.decode()[:2000]
    image.refresh_from_db()
    assert (image.corrected_text, image.corrected_label, image.corrected_by.username) == (text, label, "admin")


def test_the_admin_refuses_a_correction_that_is_not_digits(admin_client, job_with_a_failure):
    image = Image.objects.get(name="a/ok.png")
    form = {"job": job_with_a_failure.id, "position": 0, "name": "a/ok.png", "corrected_text": "12a"}
    response = admin_client.post(f"/admin/uploads/image/{image.id}/change/", form)
    assert response.status_code == 200 and "Digits, with the decimal point" in response.content.decode()
    assert Image.objects.get(id=image.id).corrected_text == ""


def test_rerun_action_sends_the_failed_images_again(
    admin_client, job_with_a_failure, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: queued.append(list(ids)))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/uploads/job/",
            {"action": "rerun_failed", "_selected_action": [str(job_with_a_failure.id)]},
            follow=True,
        )
    assert b"1 images sent again" in response.content
    assert queued == [[Image.objects.get(name="a/bad.png").id]]
    job_with_a_failure.refresh_from_db()
    assert (job_with_a_failure.status, job_with_a_failure.failed) == ("running", 0)
    assert Image.objects.get(name="a/bad.png").status == "pending"

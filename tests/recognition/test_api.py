import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories import digit_png, digits_zip, make_zip
from uploads.models import Image, Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def upload(api, name, data, content_type="application/octet-stream"):
    return api.post("/api/jobs/", {"file": SimpleUploadedFile(name, data, content_type)}, format="multipart")


def test_single_image_creates_a_queued_job_with_one_image(api):
    response = upload(api, "seven.png", digit_png(7), "image/png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "status", "url", "results_url", "page_url"}
    assert body["status"] == "queued"
    uuid.UUID(body["id"])
    job = Job.objects.get(id=body["id"])
    assert (job.kind, job.total, job.upload_name) == ("image", 1, "seven.png")
    image = job.images.get()
    assert image.name == "seven.png" and image.status == "pending"
    assert "seven" not in image.file.name, "stored names are generated, not taken from the upload"
    assert body["page_url"].endswith(f"/jobs/{job.id}/")


def test_zip_job_counts_its_candidate_images_before_expansion(api):
    data, labels = digits_zip(12, folder="scans/")
    response = upload(api, "batch.zip", data, "application/zip")
    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert (job.kind, job.total, job.images.count()) == ("zip", 12, 0)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "no file"),
        (("notes.txt", b"just some text"), "not an image and not a zip"),
        (("empty.zip", make_zip({})), "empty zip"),
        (("broken.zip", b"PK\x03\x04garbage"), "corrupt zip"),
        (("zero.png", b""), "empty"),
        (("page.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><text>7</text></svg>"), "not an image"),
    ],
)
def test_bad_uploads_are_refused_with_a_readable_detail(api, payload, reason):
    if payload is None:
        response = api.post("/api/jobs/", {}, format="multipart")
    else:
        response = upload(api, *payload)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert Job.objects.count() == 0


def test_job_status_fields(api):
    job_id = upload(api, "one.png", digit_png(1)).json()["id"]
    body = api.get(f"/api/jobs/{job_id}/").json()
    for field in ["id", "status", "total", "processed", "failed", "created_at", "finished_at"]:
        assert field in body
    assert (body["total"], body["processed"], body["failed"]) == (1, 0, 0)


def test_unknown_job_is_404(api):
    assert api.get(f"/api/jobs/{uuid.uuid4()}/").status_code == 404
    assert api.get(f"/api/jobs/{uuid.uuid4()}/results/").status_code == 404
    assert api.get(f"/jobs/{uuid.uuid4()}/").status_code == 404


def test_results_are_paginated_in_upload_order(api):
    job = Job.objects.create(kind="zip", upload_name="x.zip", total=1500)
    Image.objects.bulk_create(
        Image(
            job=job,
            position=index,
            name=f"{index}.png",
            status="done",
            digit=index % 10,
            confidence=0.9,
            top=[{"digit": index % 10, "probability": 0.9}],
        )
        for index in range(1500)
    )
    first = api.get(f"/api/jobs/{job.id}/results/?page_size=1000").json()
    assert first["count"] == 1500 and len(first["results"]) == 1000 and first["next"]
    assert [row["name"] for row in first["results"][:3]] == ["0.png", "1.png", "2.png"]
    assert set(first["results"][0]) >= {"name", "status", "digit", "confidence", "top", "error"}
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 500 and second["previous"]
    capped = api.get(f"/api/jobs/{job.id}/results/?page_size=5000").json()
    assert len(capped["results"]) == 1000


def test_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/jobs/{id}/results/" in schema.content
    assert api.get("/api/docs/").status_code == 200


def test_job_list_is_empty_for_anonymous_callers(api):
    upload(api, "one.png", digit_png(1))
    body = api.get("/api/jobs/").json()
    assert body == [] or body.get("results") == []


def test_home_page_upload_redirects_to_the_job_page(client):
    response = client.post("/", {"file": SimpleUploadedFile("two.png", digit_png(2), "image/png")})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.id}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"two.png" in page.content


def test_home_page_shows_the_reason_for_a_bad_upload(client):
    response = client.post("/", {"file": SimpleUploadedFile("notes.txt", b"text", "text/plain")})
    assert response.status_code == 400
    assert b"not an image and not a zip" in response.content


def test_cancel_stops_a_job_and_cannot_cancel_twice(api):
    job_id = upload(api, "one.png", digit_png(1)).json()["id"]
    response = api.post(f"/api/jobs/{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["finished_at"]
    again = api.post(f"/api/jobs/{job_id}/cancel/")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]

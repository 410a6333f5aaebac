import random
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
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
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.fixture
def owner():
    return User.objects.create_user("owner")


@pytest.fixture
def owner_api(owner):
    api = APIClient()
    api.force_authenticate(owner)
    return api


def jobs_created_minutes_apart(owner, count: int) -> list[str]:
    """Ids of `count` new jobs of owner, newest first. Their ages are shuffled against the order they
    were inserted in, so that only an order by creation time lists them newest first."""
    ages = list(range(count))
    random.Random(count).shuffle(ages)
    jobs = Job.objects.bulk_create(Job(owner=owner, kind="image", upload_name=f"{age}.png") for age in ages)
    now = timezone.now()
    for job, age in zip(jobs, ages, strict=True):
        job.created_at = now - timedelta(minutes=age)
    Job.objects.bulk_update(jobs, ["created_at"])
    return [str(job.id) for job in sorted(jobs, key=lambda job: job.created_at, reverse=True)]


def test_job_list_pages_through_the_callers_jobs_newest_first(owner_api, owner):
    newest_first = jobs_created_minutes_apart(owner, 7)
    upload(APIClient(), "anonymous.png", digit_png(1))
    first = owner_api.get("/api/jobs/?page_size=3").json()
    assert first["count"] == 7 and first["previous"] is None
    second = owner_api.get(first["next"]).json()
    last = owner_api.get(second["next"]).json()
    assert last["next"] is None and last["previous"]
    pages = [first, second, last]
    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    assert [job["id"] for page in pages for job in page["results"]] == newest_first
    assert set(first["results"][0]) >= {"id", "status", "name", "total", "created_at", "url", "results_url"}


def test_job_list_pages_hold_50_jobs_by_default_and_at_most_500(owner_api, owner):
    newest_first = jobs_created_minutes_apart(owner, 501)
    default = owner_api.get("/api/jobs/").json()
    assert default["count"] == 501 and len(default["results"]) == 50
    assert [job["id"] for job in default["results"]] == newest_first[:50]
    capped = owner_api.get("/api/jobs/?page_size=5000").json()
    assert [job["id"] for job in capped["results"]] == newest_first[:500]
    rest = owner_api.get(capped["next"]).json()
    assert [job["id"] for job in rest["results"]] == newest_first[500:]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page_size=0", 400),
        ("page_size=-3", 400),
        ("page_size=abc", 400),
        ("page_size=", 400),
        ("page_size=1.5", 400),
        ("page=0", 404),
        ("page=x", 404),
        ("page=", 404),
        ("page=last", 404),
        ("page=2", 404),
    ],
)
def test_a_malformed_job_list_page_is_refused_not_replaced_by_a_default(owner_api, owner, query, status):
    jobs_created_minutes_apart(owner, 1)
    response = owner_api.get(f"/api/jobs/?{query}")
    assert response.status_code == status
    expected = {"page_size": ["A whole number from 1 is required."]} if status == 400 else {"detail": "Invalid page."}
    assert response.json() == expected


def test_the_schema_documents_the_job_list_as_pages_and_the_export_as_one_array():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    listing = schema["paths"]["/api/jobs/"]["get"]
    assert {parameter["name"]: parameter["schema"]["minimum"] for parameter in listing["parameters"]} == {
        "page": 1,
        "page_size": 1,
    }
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedJobList"
    }
    assert {"400", "404"} <= set(listing["responses"])
    export = schema["paths"]["/api/jobs/{id}/results.json"]["get"]
    assert [parameter["name"] for parameter in export["parameters"]] == ["id"]
    assert export["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"


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

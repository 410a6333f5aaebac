"""The API does what its schema says.

- Contract fuzzing: schemathesis generates requests from the API's own schema (`/api/schema/`) and
  checks every answer against it with all its checks (`-c all`: no server error; status codes,
  bodies, content types and headers as documented; schema-violating requests refused, valid ones
  accepted; methods and authentication), against a live server of the test stack with a real Celery
  worker reading the uploads. Its stateful phase follows the schema's links from `POST /api/jobs/`
  to the new job's endpoints, so real ids are exercised, not only 404s. FUZZ_EXAMPLES sets the
  examples per operation and phase (25 here; `make fuzz` runs 1,000), FUZZ_SEED the seed.
- Malformed ids are a 404 on every kind of route (the URL patterns take only UUIDs and integers).
- The upload limit's 429 carries Retry-After, as the schema says.
"""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from recognition.throttling import UploadRateThrottle
from tests.factories import digit_png
from tests.services import ROOT
from uploads.models import Job

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("FUZZ_SEED", "20261202"))
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.worker
@pytest.mark.slow
def test_the_api_keeps_to_its_schema_under_fuzzing(live_server, celery_worker_process, settings, monkeypatch, tmp_path):
    # Web side only, for the loopback callback_url that contract_hooks puts in every generated one.
    settings.OCR_CALLBACK_ALLOW_PRIVATE = True
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "1000000/minute"})
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    # Run from a temporary folder: schemathesis keeps its cache of failures in `.schemathesis/` there.
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.recognition.contract_hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120 + 6 * EXAMPLES
    )
    report = run.stdout + run.stderr
    print(report)
    assert run.returncode == 0, report[-30000:]
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", report).groups())
    assert generated == passed >= 5 * EXAMPLES, report[-3000:]
    links_covered = int(re.search(r"API Links:\s+(\d+) covered", report).group(1))
    assert links_covered >= 8, "the stateful phase did not reach a created job's endpoints:\n" + report[-3000:]
    wait_for_the_worker_to_finish()


def wait_for_the_worker_to_finish(timeout: float = 120) -> None:
    """Jobs the fuzzer created are read before the test database is emptied under the worker."""
    deadline = time.monotonic() + timeout
    while Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists():
        assert time.monotonic() < deadline, "the worker did not finish the fuzzer's jobs"
        time.sleep(0.2)


MALFORMED_JOB_IDS = [
    "000000000000000000000000000000000000",  # the length of a UUID, not one: was a 500
    "------------------------------------",
    "00000000-0000-0000-0000-00000000000g",
    "not-a-job",
    "%C2%84",
]


@pytest.fixture
def job_id(db):
    response = APIClient().post(
        "/api/jobs/", {"file": SimpleUploadedFile("one.png", digit_png(1), "image/png")}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", MALFORMED_JOB_IDS)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/jobs/{}/"),
        ("DELETE", "/api/jobs/{}/"),
        ("GET", "/api/jobs/{}/results/"),
        ("POST", "/api/jobs/{}/cancel/"),
        ("PATCH", "/api/jobs/{}/results/1/"),
    ],
)
def test_a_malformed_job_id_is_a_json_404_on_the_api(method, path, bad_id):
    response = APIClient().generic(method, path.format(bad_id))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", MALFORMED_JOB_IDS)
@pytest.mark.parametrize("path", ["/api/jobs/{}/results.csv", "/api/jobs/{}/results.json"])
def test_a_malformed_job_id_is_a_404_on_the_exports(path, bad_id):
    response = APIClient().get(path.format(bad_id))
    assert response.status_code == 404 and response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", MALFORMED_JOB_IDS)
@pytest.mark.parametrize("path", ["/jobs/{}/", "/jobs/{}/images/1/thumbnail.png"])
def test_a_malformed_job_id_is_a_404_on_the_pages_and_thumbnails(client, path, bad_id):
    assert client.get(path.format(bad_id)).status_code == 404


@pytest.mark.parametrize("bad_result", ["99999999999999999999999", "-1", "x", "1.0"])
def test_a_malformed_result_id_is_a_404(client, job_id, bad_result):
    api = APIClient()
    assert api.patch(f"/api/jobs/{job_id}/results/{bad_result}/", {"label": 1}, format="json").status_code == 404
    assert client.get(f"/jobs/{job_id}/images/{bad_result}/thumbnail.png").status_code == 404


def test_an_unknown_well_formed_id_is_a_404_too(client, job_id):
    assert APIClient().get(f"/api/jobs/{uuid.uuid4()}/").status_code == 404
    assert APIClient().get(f"/api/jobs/{job_id.upper()}/").status_code == 404
    assert client.get(f"/jobs/{uuid.uuid4()}/").status_code == 404


@pytest.mark.parametrize("query", ["page_size=0", "page_size=abc", "page_size=", "page=0", "page=x", "page=last"])
def test_a_malformed_page_is_refused_not_replaced_by_a_default(job_id, query):
    response = APIClient().get(f"/api/jobs/{job_id}/results/?{query}")
    assert response.status_code in {400, 404}
    assert response.json()


@pytest.mark.parametrize("field", [{"mode": ""}, {"review_threshold": ""}, {"callback_url": ""}, {"mode": "Digit"}])
@pytest.mark.django_db
def test_an_empty_or_wrong_upload_field_is_refused_not_ignored(field):
    data = {"file": SimpleUploadedFile("one.png", digit_png(1), "image/png"), **field}
    response = APIClient().post("/api/jobs/", data, format="multipart")
    assert response.status_code == 400 and next(iter(field)) in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_upload_limit_answers_429_with_retry_after_as_documented(monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "1/minute"})
    api = APIClient()
    schema = api.get("/api/schema/?format=json").json()
    documented = schema["paths"]["/api/jobs/"]["post"]["responses"]["429"]
    assert documented["headers"]["Retry-After"]["required"] is True
    api.post("/api/jobs/", {"file": SimpleUploadedFile("a.png", digit_png(2), "image/png")}, format="multipart")
    response = api.post(
        "/api/jobs/", {"file": SimpleUploadedFile("b.png", digit_png(3), "image/png")}, format="multipart"
    )
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60 and response.json()["detail"]


def test_every_job_operation_documents_its_404_and_the_upload_its_limits():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert "401" in operation["responses"], (method, path)
            if "{id}" in path:
                assert "404" in operation["responses"], (method, path)
    upload = schema["paths"]["/api/jobs/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "application/zip" in upload["encoding"]["file"]["contentType"]
    links = schema["paths"]["/api/jobs/"]["post"]["responses"]["201"]["links"]
    assert {"jobs_retrieve", "jobs_results_list", "jobs_cancel_create"} <= set(links)

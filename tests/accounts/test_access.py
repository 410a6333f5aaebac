import io
import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition.throttling import UploadRateThrottle
from tests.factories import digit_png

pytestmark = pytest.mark.django_db


def client_for(username=None) -> APIClient:
    api = APIClient()
    if username:
        user = User.objects.create_user(username, password="pw-" + username)
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def create(api) -> dict:
    response = api.post("/api/jobs/", {"file": SimpleUploadedFile("1.png", digit_png(1))}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_token_user_sees_own_jobs_and_nobody_else_does():
    alice, bob, anonymous = client_for("alice"), client_for("bob"), APIClient()
    job = create(alice)
    listed = alice.get("/api/jobs/").json()["results"]
    assert [row["id"] for row in listed] == [job["id"]]
    assert bob.get("/api/jobs/").json()["results"] == []
    for other in (bob, anonymous):
        assert other.get(f"/api/jobs/{job['id']}/").status_code == 404
        assert other.get(f"/api/jobs/{job['id']}/results/").status_code == 404
        assert other.post(f"/api/jobs/{job['id']}/cancel/").status_code == 404
        assert other.get(f"/jobs/{job['id']}/").status_code == 404
    assert alice.get(f"/api/jobs/{job['id']}/").status_code == 200


def test_anonymous_job_is_reachable_by_its_id_only():
    job = create(APIClient())
    assert client_for("carol").get(f"/api/jobs/{job['id']}/").status_code == 200
    assert client_for("dave").get("/api/jobs/").json()["results"] == []


def test_bad_token_is_refused():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/jobs/").status_code == 401


def test_login_can_be_required_for_uploads(settings, client):
    settings.OCR_REQUIRE_LOGIN = True
    response = APIClient().post("/api/jobs/", {"file": SimpleUploadedFile("1.png", digit_png(1))}, format="multipart")
    assert response.status_code in (401, 403)
    assert client.get("/").status_code == 302
    create(client_for("erin"))


def test_job_creation_is_rate_limited(monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "3/minute"})
    api = client_for("frank")
    for _ in range(3):
        create(api)
    refused = api.post("/api/jobs/", {"file": SimpleUploadedFile("1.png", digit_png(1))}, format="multipart")
    assert refused.status_code == 429
    assert "throttled" in refused.json()["detail"].lower()
    assert api.get("/api/jobs/").status_code == 200, "only job creation is limited"


def test_an_anonymous_uploader_cannot_escape_the_limit_by_naming_another_address(monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "2/minute"})
    statuses = [
        APIClient()
        .post(
            "/api/jobs/",
            {"file": SimpleUploadedFile("1.png", digit_png(1))},
            format="multipart",
            REMOTE_ADDR="198.51.100.7",  # an address of this test's own: no other test's uploads counted
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )
        .status_code
        for attempt in range(3)
    ]
    assert statuses == [201, 201, 429]


def test_signup_login_and_api_token_from_the_account_page(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "gina", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"},
    )
    assert response.status_code == 302
    client.post("/accounts/token/")
    token = Token.objects.get(user__username="gina")
    assert token.key in client.get("/accounts/").content.decode()
    client.post("/", {"file": SimpleUploadedFile("2.png", digit_png(2), "image/png")})
    assert User.objects.get(username="gina").jobs.count() == 1


def test_forms_require_csrf_tokens():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/", {"file": SimpleUploadedFile("2.png", digit_png(2), "image/png")})
    assert response.status_code == 403


def test_thumbnails_are_generated_pngs_with_nosniff(client):
    upload = SimpleUploadedFile("big.png", digit_png(5, size=300))
    job = APIClient().post("/api/jobs/", {"file": upload}, format="multipart").json()
    thumbnail_url = APIClient().get(job["results_url"]).json()["results"][0]["thumbnail_url"]
    response = client.get(thumbnail_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    thumbnail = PILImage.open(io.BytesIO(response.content))
    assert thumbnail.format == "PNG" and max(thumbnail.size) <= 96


def test_production_settings_pass_the_deploy_check():
    inherited = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_PRODUCTION": "true",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x7" * 40 + "-production-like-secret",
        "DJANGO_ALLOWED_HOSTS": "ocr.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Callbacks delivered by a real worker to a local HTTP server: signed, retried with backoff, and the
outcome shown on the job."""

import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from recognition import callbacks
from tests.e2e.helpers import wait_for_job
from tests.factories import digit_png

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver(BaseHTTPRequestHandler):
    """Answers 500 to the first call on /flaky, always 500 on /down, 200 otherwise; keeps every call."""

    calls: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.calls.append(
            {
                "path": self.path,
                "body": body,
                "signature": self.headers["X-Digit-OCR-Signature"],
                "host": self.headers["Host"],
            }
        )
        earlier = sum(call["path"] == self.path for call in Receiver.calls)
        failing = self.path == "/down" or (self.path == "/flaky" and earlier == 1)
        self.send_response(500 if failing else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_callbacks_are_signed_retried_and_reported(live_server, celery_worker_factory, receiver, settings):
    prefix = f"cb-{uuid.uuid4().hex[:6]}-"
    settings.OCR_QUEUE_PREFIX = prefix
    settings.OCR_QUEUES = {kind: prefix + kind for kind in settings.OCR_QUEUES}
    settings.OCR_CALLBACK_ALLOW_PRIVATE = True
    celery_worker_factory(
        name="callbacks",
        env={"OCR_QUEUE_PREFIX": prefix, "OCR_CALLBACK_ALLOW_PRIVATE": "true", "OCR_CALLBACK_MAX_RETRIES": "2"},
    )

    def upload(path):
        response = requests.post(
            f"{live_server.url}/api/jobs/",
            files={"file": ("7.png", digit_png(7))},
            data={"callback_url": receiver + path},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()

    delivered_job, failed_job = upload("/flaky"), upload("/down")
    delivered = wait_for_job(delivered_job["url"], until=lambda job: job["callback_status"] == "delivered", timeout=60)
    failed = wait_for_job(failed_job["url"], until=lambda job: job["callback_status"] == "failed", timeout=90)

    assert delivered["status"] == "done" and delivered["callback_attempts"] == 2 and delivered["callback_delivered_at"]
    assert failed["callback_attempts"] == 3 and "500" in failed["callback_error"]
    last = [call for call in Receiver.calls if call["path"] == "/flaky"][-1]
    expected = "sha256=" + hmac.new(settings.OCR_CALLBACK_SECRET.encode(), last["body"], hashlib.sha256).hexdigest()
    assert last["signature"] == expected
    payload = json.loads(last["body"])
    assert (payload["id"], payload["status"], payload["processed"]) == (delivered_job["id"], "done", 1)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "private or loopback"),
        ("http://10.1.2.3/hook", "private or loopback"),
        ("http://[::1]/hook", "private or loopback"),
        ("ftp://example.com/hook", "http or https"),
        ("http://example.com:99999/hook", "not a valid address"),
        ("http://a\u200eb.com/hook", "not a valid address"),
        ("http://127.0.0.1:6379\\@example.com/hook", "a backslash"),  # example.com to urlparse, 127.0.0.1 to urllib3
        ("http://user@example.com/hook", "a user name"),
    ],
)
def test_callback_urls_into_private_networks_are_refused(url, reason):
    upload = SimpleUploadedFile("7.png", digit_png(7))
    response = APIClient().post("/api/jobs/", {"file": upload, "callback_url": url}, format="multipart")
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_a_callback_goes_to_the_address_checked_not_to_the_name_resolved_again(receiver):
    """A name that resolves to a public address when checked and to an inner one when called (DNS rebinding)
    must not reach the inner one: the call goes to the address checked, the name only in the Host header."""
    port = receiver.rsplit(":", 1)[1]
    callbacks.post_to_address(
        f"http://hook.invalid:{port}/pinned?x=1", "127.0.0.1", b"{}", {"X-Digit-OCR-Signature": "s"}
    )
    assert [(call["path"], call["host"]) for call in Receiver.calls] == [("/pinned?x=1", f"hook.invalid:{port}")]
    with pytest.raises(callbacks.CallbackFailed, match="hook.invalid answered 500"):
        callbacks.post_to_address(f"http://hook.invalid:{port}/down", "127.0.0.1", b"{}", {})

"""Telling another system that a job ended: POST its status JSON, signed with HMAC-SHA256."""

import hashlib
import hmac
import ipaddress
import json
import socket
from urllib.parse import urlparse

import certifi
import urllib3
from django.conf import settings
from django.utils import timezone

from uploads.models import CallbackStatus, Job

SIGNATURE_HEADER = "X-Digit-OCR-Signature"
TIMEOUT_SECONDS = 10


class CallbackRefused(ValueError):
    """A callback URL the service will not call; str() says why."""


class CallbackFailed(Exception):
    """The receiver could not be reached or answered with an error; str() says which."""


def check_callback_url(url: str) -> list[str]:
    """The addresses the URL's host resolves to: only http(s), one reading of the URL by every parser, and
    (unless allowed) never an address inside the service's own network."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise CallbackRefused("callback_url must be an http or https URL")
    if "\\" in url or "@" in parsed.netloc:
        # Parsers disagree on these: http://127.0.0.1:6379\@example.com/ is example.com to urlparse and
        # 127.0.0.1 to urllib3, so the host checked would not be the host called.
        raise CallbackRefused("callback_url must not hold a user name, a password or a backslash")
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(parsed.hostname, _port(parsed))})
    except socket.gaierror as exc:
        raise CallbackRefused(f"callback_url host cannot be resolved: {exc}") from exc
    except ValueError as exc:  # a port out of range; a host name IDNA cannot encode (UnicodeError)
        raise CallbackRefused(f"callback_url is not a valid address: {exc}") from exc
    if not settings.OCR_CALLBACK_ALLOW_PRIVATE:
        for address in addresses:
            if not ipaddress.ip_address(address.split("%")[0]).is_global:
                raise CallbackRefused(f"callback_url resolves to a private or loopback address ({address})")
    return addresses


def _port(parsed) -> int:
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def signature(body: bytes) -> str:
    digest = hmac.new(settings.OCR_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def callback_body(job: Job) -> bytes:
    from recognition.serializers import JobSerializer

    return json.dumps(JobSerializer(job).data, sort_keys=True, default=str).encode()


def deliver_callback(*, job_id) -> None:
    """One delivery attempt; raises on failure so the task retries with backoff."""
    job = Job.objects.filter(id=job_id).first()
    if job is None:  # deleted since it ended: nothing left to announce
        return
    Job.objects.filter(id=job_id).update(callback_attempts=job.callback_attempts + 1)
    addresses = check_callback_url(job.callback_url)  # again: the name may resolve elsewhere by now
    body = callback_body(job)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(body)}
    post_to_address(job.callback_url, addresses[0], body, headers)
    Job.objects.filter(id=job_id).update(
        callback_status=CallbackStatus.DELIVERED, callback_error="", callback_delivered_at=timezone.now()
    )


def post_to_address(url: str, address: str, body: bytes, headers: dict) -> None:
    """POST to the address that was checked, not to whatever the host name resolves to a moment later (DNS
    rebinding); TLS still verifies the certificate against the host name. No redirects followed."""
    parsed = urlparse(url)
    path = parsed.path or "/"
    if parsed.query:
        path += "?" + parsed.query
    options = dict(timeout=TIMEOUT_SECONDS, retries=False)
    if parsed.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            _port(parsed),
            server_hostname=parsed.hostname,
            assert_hostname=parsed.hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, _port(parsed), **options)
    try:
        with pool:
            response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": parsed.netloc}, redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        raise CallbackFailed(f"{parsed.hostname} could not be reached: {exc}") from exc
    if response.status >= 400:
        raise CallbackFailed(f"{parsed.hostname} answered {response.status} {response.reason}")


def give_up_callback(*, job_id, reason: str) -> None:
    Job.objects.filter(id=job_id).update(callback_status=CallbackStatus.FAILED, callback_error=reason)

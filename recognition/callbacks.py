"""Telling another system that a job ended: POST its status JSON, signed with HMAC-SHA256."""

import hashlib
import hmac
import ipaddress
import json
import socket
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.utils import timezone

from uploads.models import CallbackStatus, Job

SIGNATURE_HEADER = "X-Digit-OCR-Signature"
TIMEOUT_SECONDS = 10


class CallbackRefused(ValueError):
    """A callback URL the service will not call; str() says why."""


def check_callback_url(url: str) -> None:
    """Only http(s), and (unless allowed) never an address inside the service's own network."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise CallbackRefused("callback_url must be an http or https URL")
    if settings.OCR_CALLBACK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, parsed.port or 443)}
    except socket.gaierror as exc:
        raise CallbackRefused(f"callback_url host cannot be resolved: {exc}") from exc
    except ValueError as exc:  # a port out of range; a host name IDNA cannot encode (UnicodeError)
        raise CallbackRefused(f"callback_url is not a valid address: {exc}") from exc
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise CallbackRefused(f"callback_url resolves to a private or loopback address ({address})")


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
    check_callback_url(job.callback_url)  # again: the name may resolve elsewhere by now
    body = callback_body(job)
    response = requests.post(
        job.callback_url,
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature(body)},
        timeout=TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    response.raise_for_status()
    Job.objects.filter(id=job_id).update(
        callback_status=CallbackStatus.DELIVERED, callback_error="", callback_delivered_at=timezone.now()
    )


def give_up_callback(*, job_id, reason: str) -> None:
    Job.objects.filter(id=job_id).update(callback_status=CallbackStatus.FAILED, callback_error=reason)

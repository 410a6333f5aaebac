"""ETags of what the job page polls, made from the job's row alone, before any result is read or any
answer built: a poller holding the current page gets its 304 for the one query that reads the job,
and the other pollers of the job get the answer the first one had built, from the cache."""

import hashlib
import logging

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, quote_etag

logger = logging.getLogger(__name__)

# The pollers of a job (every second) all ask for the same answer until the job moves again: shared
# this long, a page of 100 rows (46 kB) held per move of the job, in the Redis the broker also uses.
SHARED_ANSWER_SECONDS = 10

# What changes a results page also changes one of these: each saved chunk of results moves the
# counters and progressed_at, a rerun moves the counters and finished_at, a correction `corrections`.
RESULTS_PAGE_COLUMNS = ("total", "processed", "failed", "flagged", "progressed_at", "finished_at", "corrections")


def status_etag(*, job, request) -> str:
    """The status shows the job's row, with links on the requested host."""
    return etag_of("status", request, *(getattr(job, field.attname) for field in job._meta.concrete_fields))


def results_page_etag(*, job, request) -> str | None:
    """None while a zip is being expanded: its rows are added without the job's row changing."""
    if job.expanded_at is None:
        return None
    return etag_of("results", request, job.id, *(getattr(job, column) for column in RESULTS_PAGE_COLUMNS))


def etag_of(kind: str, request, *values) -> str:
    # The full URL: the page, its size and filter, and the host of the links in the answer.
    key = repr((kind, request.build_absolute_uri(), request.accepted_renderer.format, *values))
    return quote_etag(hashlib.md5(key.encode(), usedforsecurity=False).hexdigest())


def not_modified(request, *, etag: str):
    """The empty 304 when the client's If-None-Match already names etag, else None. A bare `*` names
    any answer the URL has, and only building it tells whether there is one (a page past the last, a
    page_size that is not a number): it is left to the check on the built answer."""
    if request.headers.get("If-None-Match", "").strip() == "*":
        return None
    response = get_conditional_response(request, etag=etag)
    if response is not None:
        mark_revalidated(response, etag=etag)
    return response


def shared_answer(*, etag: str) -> HttpResponse | None:
    """The answer already built under this ETag (for another poller), if still in the cache."""
    try:
        shared = cache.get(f"answer:{etag}")
    except Exception as exc:  # the cache is a saving, never a reason to fail: build the answer instead
        logger.warning("shared answer not read: %r", exc)
        return None
    if shared is None:
        return None
    content_type, content = shared
    return mark_revalidated(HttpResponse(content, content_type=content_type), etag=etag)


def share_answer(response, *, etag: str) -> None:
    """Only JSON is shared: the browsable API's HTML holds the reader's own name and CSRF token."""
    response.render()
    if not response["Content-Type"].startswith("application/json"):
        return
    try:
        cache.set(f"answer:{etag}", (response["Content-Type"], response.content), SHARED_ANSWER_SECONDS)
    except Exception as exc:
        logger.warning("answer not shared: %r", exc)


def mark_revalidated(response, *, etag: str):
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response

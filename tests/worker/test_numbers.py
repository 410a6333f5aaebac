"""Jobs in number and auto mode through the chunk service, with the committed network."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from ml.lines import LineReading
from tests.factories import digit_png, make_zip, number_png
from uploads import services as upload_services
from worker import services
from worker.model import get_classifier

pytestmark = pytest.mark.django_db


def run_job(members: dict[str, bytes], *, mode: str, **options):
    job = upload_services.create_job(upload=SimpleUploadedFile("n.zip", make_zip(members)), mode=mode, **options)
    upload_services.expand_zip_job(job_id=job.id)
    services.classify_chunk(
        job_id=job.id, image_ids=list(job.images.values_list("id", flat=True)), classifier=get_classifier()
    )
    return {image.name: image for image in job.images.all()}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)


def test_number_mode_reads_the_whole_string_with_boxes():
    images = run_job({"meter.png": number_png("40271"), "house.png": number_png("93", height=80)}, mode="number")
    meter = images["meter.png"]
    assert meter.text == "40271" and meter.digit is None
    assert [reading["digit"] for reading in meter.digits] == [4, 0, 2, 7, 1]
    lefts = [reading["box"][0] for reading in meter.digits]
    assert lefts == sorted(lefts)
    product = 1.0
    for reading in meter.digits:
        product *= reading["confidence"]
    assert meter.confidence == pytest.approx(product)
    assert images["house.png"].text == "93"


def test_auto_mode_picks_digit_or_number_per_image():
    images = run_job({"one.png": digit_png(8, size=64), "many.png": number_png("512")}, mode="auto")
    assert (images["one.png"].digit, images["one.png"].text, len(images["one.png"].top)) == (8, "8", 3)
    assert (images["many.png"].text, images["many.png"].top) == ("512", None)


def test_results_api_shows_text_and_digits():
    images = run_job({"meter.png": number_png("2024")}, mode="number")
    job_id = images["meter.png"].job_id
    row = APIClient().get(f"/api/jobs/{job_id}/results/").json()["results"][0]
    assert row["text"] == "2024" and len(row["digits"]) == 4 and len(row["digits"][0]["box"]) == 4


def test_mode_is_validated_on_upload():
    upload = SimpleUploadedFile("1.png", digit_png(1))
    response = APIClient().post("/api/jobs/", {"file": upload, "mode": "words"}, format="multipart")
    assert response.status_code == 400 and "mode" in response.json()["detail"]


def test_number_mode_keeps_the_decimal_point_in_text_and_leaves_it_out_of_digits():
    reading = run_job({"meter.png": number_png("19.5")}, mode="number")["meter.png"]
    assert reading.text == "19.5"
    assert [digit["digit"] for digit in reading.digits] == [1, 9, 5]
    without = run_job({"meter.png": number_png("19.5")}, mode="number", keep_separators=False)["meter.png"]
    assert without.text == "195"


def test_auto_sends_lines_of_one_character_to_the_digit_network():
    def line(text):
        return LineReading(text, 0.9, [{"character": character, "confidence": 0.9} for character in text])

    inputs = {1: "one", 2: "two", 3: "three"}
    digits, numbers = services.one_character_to_digits(inputs, {1: line("7"), 2: line("42"), 3: line("")})
    assert digits == {1: "one", 3: "three"}
    assert list(numbers) == [2]

"""Jobs in number and auto mode through the chunk service, with the committed network."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

import ml.reading
from ml.lines import LineReading
from ml.reading import takes_for_one_digit
from tests.factories import digit_png, make_zip, number_png
from uploads import services as upload_services
from uploads.pictures import StoredPicture
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


def test_a_photo_too_large_to_keep_whole_is_read_with_boxes_in_its_own_pixels():
    photo = number_png("512", height=1200)
    width = services.open_image(photo).width
    for mode in ("number", "auto"):
        line = run_job({"photo.png": photo}, mode=mode)["photo.png"]
        assert line.text == "512", mode
        rights = [reading["box"][2] for reading in line.digits]
        assert width / 2 < rights[-1] <= width, mode


def test_auto_keeps_a_large_pictures_copy_shrunk_for_the_line_reader():
    """A chunk of 256 phone photos kept whole for the line reader's second looks would take gigabytes."""
    _, _, pictures, _ = services.read_images([StoredPicture(1, number_png("512", height=1200))], mode="auto")
    kept = pictures[1]
    assert kept.factor > 1.5 and kept.width == services.open_image(number_png("512", height=1200)).width
    assert max(kept.picture.size) < 2048


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


def test_without_separators_a_doubtful_separator_does_not_flag_the_digits():
    reading = LineReading.of([{"character": c, "confidence": p} for c, p in zip("19,5", (0.99, 0.99, 0.4, 0.99))])
    with_separators = services.number_row(1, reading, threshold=0.9)
    digits_only = services.number_row(1, reading, threshold=0.9, keep_separators=False)
    assert with_separators.needs_review and with_separators.confidence == pytest.approx(0.99**3 * 0.4)
    assert not digits_only.needs_review and digits_only.confidence == pytest.approx(0.99**3)
    assert digits_only.text == "195"


def test_auto_reads_a_digit_the_digit_network_is_sure_of_without_the_line_reader(monkeypatch):
    monkeypatch.setattr(services, "get_line_reader", lambda: pytest.fail("the line reader was not needed"))
    images = run_job({"one.png": digit_png(3, size=64), "two.png": digit_png(6, size=48)}, mode="auto")
    assert (images["one.png"].digit, images["two.png"].digit) == (3, 6)


def test_auto_hands_a_doubtful_picture_read_as_one_character_back_to_the_digit_network(monkeypatch):
    monkeypatch.setattr(ml.reading, "takes_for_one_digit", lambda outputs: np.zeros(len(outputs), dtype=bool))
    images = run_job({"one.png": digit_png(3, size=64), "many.png": number_png("512")}, mode="auto")
    assert images["one.png"].digit == 3 and images["one.png"].model_version == get_classifier().version
    assert images["many.png"].text == "512"


def test_auto_keeps_the_digit_where_the_line_ink_cannot_be_made(monkeypatch):
    monkeypatch.setattr(ml.reading, "takes_for_one_digit", lambda outputs: np.zeros(len(outputs), dtype=bool))
    monkeypatch.setattr(ml.reading, "line_ink", lambda picture: 1 / 0)
    images = run_job({"one.png": digit_png(3, size=64), "two.png": digit_png(6, size=48)}, mode="auto")
    assert (images["one.png"].digit, images["two.png"].digit) == (3, 6)


def test_the_auto_gate_passes_sure_digits_only():
    sure, unsure, not_a_digit = (
        [0.9, 0.02] + [0.01] * 8 + [0.0],
        [0.5, 0.4] + [0.0125] * 8 + [0.0],
        [0.1] + [0] * 9 + [0.9],
    )
    assert takes_for_one_digit(np.array([sure, unsure, not_a_digit])).tolist() == [True, False, False]

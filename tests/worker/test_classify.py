"""The worker's chunk service with the committed network, against the database (no broker)."""

import io
import weakref

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from ml.preprocess import to_network_input
from tests.factories import beside_a_bright_label, digit_png, encode, make_zip
from uploads import pictures
from uploads import services as upload_services
from uploads.models import Job
from uploads.pictures import StoredPicture
from worker import services
from worker.model import get_classifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def expanded_job(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{digit}.png": digit_png(digit, size=48) for digit in range(10)}
    members["blank.png"] = make_blank_png()
    job = upload_services.create_job(upload=SimpleUploadedFile("d.zip", make_zip(members)))
    upload_services.expand_zip_job(job_id=job.id)
    return job


def make_blank_png() -> bytes:
    output = io.BytesIO()
    PILImage.new("L", (40, 40), 255).save(output, format="PNG")
    return output.getvalue()


def chunk_ids(job) -> list[int]:
    return list(job.images.order_by("position").values_list("id", flat=True))


def test_chunk_is_classified_in_one_pass_and_the_job_ends(expanded_job):
    classifier = get_classifier()
    written = services.classify_chunk(job_id=expanded_job.id, image_ids=chunk_ids(expanded_job), classifier=classifier)
    assert written == 11
    job = Job.objects.get(id=expanded_job.id)
    assert (job.status, job.processed, job.failed) == ("done", 11, 1)
    for image in job.images.exclude(name="blank.png"):
        assert image.status == "done" and image.digit == int(image.name[0]), image.name
        assert image.top[0]["digit"] == image.digit and image.confidence == image.top[0]["probability"]
        assert image.model_version == classifier.version
    blank = job.images.get(name="blank.png")
    assert blank.status == "error" and "blank" in blank.error


def test_a_picture_that_breaks_the_preprocessing_fails_alone(monkeypatch):
    def prepare_but_the_odd_size(picture):
        if picture.size == (50, 50):
            raise ZeroDivisionError("float division by zero")
        return to_network_input(picture)

    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {"7.png": digit_png(7, size=48), "8.png": digit_png(8, size=50), "9.png": digit_png(9, size=48)}
    job = upload_services.create_job(upload=SimpleUploadedFile("d.zip", make_zip(members)))
    upload_services.expand_zip_job(job_id=job.id)
    monkeypatch.setattr(services, "to_network_input", prepare_but_the_odd_size)
    services.classify_chunk(job_id=job.id, image_ids=chunk_ids(job), classifier=get_classifier())
    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("done", 3, 1)
    images = {image.name: image for image in job.images.all()}
    assert images["8.png"].error == "could not be read: ZeroDivisionError: float division by zero"
    assert (images["7.png"].digit, images["9.png"].digit) == (7, 9)


def test_a_chunk_delivered_twice_writes_each_result_once(expanded_job):
    classifier = get_classifier()
    ids = chunk_ids(expanded_job)
    services.classify_chunk(job_id=expanded_job.id, image_ids=ids, classifier=classifier)
    assert services.classify_chunk(job_id=expanded_job.id, image_ids=ids, classifier=classifier) == 0
    job = Job.objects.get(id=expanded_job.id)
    assert (job.processed, job.failed) == (11, 1)


def test_giving_up_a_chunk_records_the_reason_and_ends_the_job(expanded_job):
    ids = chunk_ids(expanded_job)
    services.give_up_chunk(job_id=expanded_job.id, image_ids=ids, reason="classification failed: boom")
    job = Job.objects.get(id=expanded_job.id)
    assert (job.status, job.processed, job.failed) == ("done", 11, 11)
    assert set(job.images.values_list("error", flat=True)) == {"classification failed: boom"}


def test_cancelled_job_skips_its_chunks(expanded_job):
    upload_services.cancel_job(job_id=expanded_job.id)
    assert (
        services.classify_chunk(job_id=expanded_job.id, image_ids=chunk_ids(expanded_job), classifier=get_classifier())
        == 0
    )
    assert Job.objects.get(id=expanded_job.id).status == "cancelled"


def test_digits_beside_clutter_are_read_from_storage(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{digit}.png": encode(beside_a_bright_label(digit)) for digit in range(10)}
    job = upload_services.create_job(upload=SimpleUploadedFile("d.zip", make_zip(members)), mode=Job.Mode.DIGIT)
    upload_services.expand_zip_job(job_id=job.id)
    services.classify_chunk(job_id=job.id, image_ids=chunk_ids(job), classifier=get_classifier())
    read = {image.name: image.digit for image in job.images.all()}
    assert sum(read[f"{digit}.png"] == digit for digit in range(10)) >= 9


def test_a_chunk_whose_worker_keeps_dying_is_read_one_image_at_a_time(expanded_job, monkeypatch):
    """Each start that died left its images pending (and the message was delivered again)."""
    queued = []
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: queued.append(list(ids)))
    ids = chunk_ids(expanded_job)
    for _ in range(services.MAX_CHUNK_STARTS):
        assert not services.started_too_often(job_id=expanded_job.id, image_ids=ids)

    assert services.classify_chunk(job_id=expanded_job.id, image_ids=ids, classifier=get_classifier()) == 0

    assert queued == [[image_id] for image_id in ids]
    assert expanded_job.images.filter(status="pending").count() == len(ids), "nothing lost, nothing read yet"


def test_an_image_whose_worker_keeps_dying_fails_alone_with_the_reason(expanded_job):
    first, second = chunk_ids(expanded_job)[:2]
    for _ in range(services.MAX_CHUNK_STARTS):
        services.started_too_often(job_id=expanded_job.id, image_ids=[first])

    services.classify_chunk(job_id=expanded_job.id, image_ids=[first], classifier=get_classifier())
    services.classify_chunk(job_id=expanded_job.id, image_ids=[second], classifier=get_classifier())

    failed, read = expanded_job.images.get(id=first), expanded_job.images.get(id=second)
    assert failed.status == "error" and "stopped 3 times" in failed.error
    assert read.status == "done" and read.digit == 1


class WatchedBytes(bytearray):
    """An image's bytes that a weak reference can tell are gone (bytes objects take none)."""


def test_each_images_bytes_are_let_go_before_the_next_images_are_read():
    watched = []

    def watch(data: bytes) -> WatchedBytes:
        data = WatchedBytes(data)
        watched.append(weakref.ref(data))
        return data

    def stored():
        for image_id, digit in enumerate((3, 4, 5)):
            assert all(ref() is None for ref in watched), "the bytes of an image already prepared are still held"
            yield StoredPicture(image_id, watch(digit_png(digit, size=48)))

    inputs, _, _, errors = services.read_images(stored(), mode="digit")
    assert errors == {} and list(inputs) == [0, 1, 2]


def test_a_chunk_read_range_by_range_gives_the_same_results(expanded_job, monkeypatch):
    images = list(expanded_job.images.order_by("position"))
    classifier = get_classifier()

    def read():
        return services.read_chunk(images, upload_name=expanded_job.upload.name, mode="digit", classifier=classifier)

    ranges = []
    real_read_range = pictures.read_range
    monkeypatch.setattr(pictures, "read_range", lambda *args: ranges.append(args) or real_read_range(*args))
    whole = read()
    monkeypatch.setattr(pictures, "RANGE_MAX_BYTES", 1)  # each member a range of its own
    apart = read()
    assert len(ranges) == 1 + len(images)
    assert apart.errors == whole.errors and apart.digits.keys() == whole.digits.keys()
    assert all((apart.digits[image_id] == row).all() for image_id, row in whole.digits.items())


def test_in_digit_mode_each_picture_is_kept_shrunk_for_a_second_look():
    big = StoredPicture(1, digit_png(4, size=2000))
    inputs, _, kept, errors = services.read_images([big, StoredPicture(2, make_blank_png())], mode="digit")
    assert list(inputs) == list(kept) == [1], "the blank picture is neither read nor kept"
    assert errors.keys() == {2}
    assert max(kept[1].size) < 512


class OnePolarityReader:
    """A stand-in digit network for the second look: names a 7, 0.9 sure, and keeps how many it read."""

    def predict_all(self, inputs):
        self.read = len(inputs)
        outputs = np.full((len(inputs), 11), 0.1 / 9)
        outputs[:, 7], outputs[:, 10] = 0.9, 0.0
        return outputs


def test_a_doubtful_digit_is_read_again_and_a_number_is_left_to_the_line_reader():
    pictures = {image_id: PILImage.open(io.BytesIO(digit_png(1, size=48))) for image_id in (1, 2, 3)}
    inputs = {image_id: to_network_input(picture) for image_id, picture in pictures.items()}
    outputs = np.full((3, 11), 0.01 / 9)
    outputs[:, 1], outputs[:, 10] = 0.99, 0.0
    outputs[1, 1], outputs[1, 2] = 0.6, 0.4 - 0.08 / 9  # image 2: doubtful
    reader = OnePolarityReader()

    digits = services.read_digits(inputs, outputs, pictures, {3: "a line"}, reader)

    assert digits.keys() == {1, 2} and reader.read == 1
    assert digits[1].argmax() == 1 and digits[2].argmax() == 7

import zipfile
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import digit_png, make_zip
from uploads import pictures as pictures_module
from uploads import services
from uploads.models import Image, Job
from uploads.pictures import picture_bytes, stream_pictures
from uploads.stored_files import files_under, job_prefix

pytestmark = pytest.mark.django_db


def read_pictures(images, *, upload_name: str) -> SimpleNamespace:
    """Every image's bytes (`data`) or reason (`errors`), by image id, from `stream_pictures`."""
    pictures = SimpleNamespace(data={}, errors={})
    for image_id, data, error in stream_pictures(images, upload_name=upload_name):
        (pictures.errors if error else pictures.data)[image_id] = error or data
    return pictures


def zip_job(members: dict[str, bytes]) -> Job:
    return services.create_job(upload=SimpleUploadedFile("batch.zip", make_zip(members)))


def test_expansion_stores_images_and_records_errors(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: queued.append(list(ids)))
    job = zip_job({"a/1.png": digit_png(1), "a/notes.txt": b"text", "b/2.png": digit_png(2), "empty.png": b""})
    with django_capture_on_commit_callbacks(execute=True):
        services.expand_zip_job(job_id=job.id)
    job.refresh_from_db()
    assert job.expanded_at and job.status == "running"
    assert (job.total, job.processed, job.failed) == (4, 2, 2)
    images = {image.name: image for image in job.images.all()}
    assert images["a/notes.txt"].status == "error" and "not an image" in images["a/notes.txt"].error
    assert images["empty.png"].status == "error"
    assert picture_bytes(images["a/1.png"]) == digit_png(1) and picture_bytes(images["b/2.png"]) == digit_png(2)
    assert [stored.name for stored in files_under(job_prefix(job.id))] == [job.upload.name], "read from the zip"
    assert sorted(sum(queued, [])) == sorted(images[name].id for name in ["a/1.png", "b/2.png"])


def test_expansion_run_twice_creates_each_image_once(monkeypatch):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    job = zip_job({f"{index}.png": digit_png(index % 10) for index in range(5)})
    services.expand_zip_job(job_id=job.id)
    Job.objects.filter(id=job.id).update(expanded_at=None)  # as if the worker died before marking it
    services.expand_zip_job(job_id=job.id)
    assert job.images.count() == 5
    assert sorted(job.images.values_list("position", flat=True)) == [0, 1, 2, 3, 4]


def test_a_job_of_only_unreadable_members_finishes_at_expansion(monkeypatch):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: pytest.fail("nothing to classify"))
    job = zip_job({"a.txt": b"a", "b.txt": b"b"})
    services.expand_zip_job(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("done", 2, 2)
    assert job.finished_at


def test_unreadable_stored_zip_fails_the_job_with_a_reason(monkeypatch):
    job = zip_job({"1.png": digit_png(1)})
    with job.upload.storage.open(job.upload.name, "wb") as broken:
        broken.write(b"PK\x03\x04 not a zip any more")
    services.expand_zip_job(job_id=job.id)
    job.refresh_from_db()
    assert job.status == "failed" and "corrupt zip" in job.error


def test_job_is_not_done_before_expansion_ends():
    job = Job.objects.create(kind="zip", upload_name="x.zip", total=2, processed=2)
    assert not services.finish_job_if_complete(job_id=job.id)
    Job.objects.filter(id=job.id).update(expanded_at="2026-01-01T00:00Z")
    assert services.finish_job_if_complete(job_id=job.id)
    assert Job.objects.get(id=job.id).status == "done"


def test_counters_add_up_in_the_database():
    job = Job.objects.create(kind="zip", upload_name="x.zip", total=10)
    services.count_results(job_id=job.id, processed=3, failed=1)
    services.count_results(job_id=job.id, processed=4, failed=0)
    job.refresh_from_db()
    assert (job.processed, job.failed) == (7, 1)


def test_single_image_job_has_its_image_ready():
    job = services.create_job(upload=SimpleUploadedFile("x.png", digit_png(3)))
    image = Image.objects.get(job=job)
    assert image.file.name == job.upload.name and job.expanded_at


@pytest.mark.parametrize(
    "failure", [ModuleNotFoundError("No module named 'packaging'"), RuntimeError("transport exploded")]
)
def test_an_upload_is_kept_for_the_sweep_whatever_fails_while_sending_its_task(
    failure, django_capture_on_commit_callbacks, monkeypatch
):
    from worker.tasks import classify_chunk, expand_zip

    def refuse(*args, **kwargs):
        raise failure

    monkeypatch.setattr(expand_zip, "apply_async", refuse)
    monkeypatch.setattr(classify_chunk, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        zipped = zip_job({"1.png": digit_png(1)})
        single = services.create_job(upload=SimpleUploadedFile("2.png", digit_png(2)))
    for job in (zipped, single):
        job.refresh_from_db()
        assert job.status == "queued" and job.upload.name
    assert single.images.get().status == "pending"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_every_compression_reads_back_the_members_bytes(compression, monkeypatch):
    """Deflated and stored members are read from the stored zip by byte range (a chunk at a time);
    other compressions are stored as files of their own at expansion."""
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{index}.png": digit_png(index, size=30 + index) for index in range(6)}
    job = services.create_job(upload=SimpleUploadedFile("batch.zip", make_zip(members, compression=compression)))
    services.expand_zip_job(job_id=job.id)
    images = list(job.images.all())
    in_place = compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    assert all((image.member_offset is not None) == in_place and bool(image.file) != in_place for image in images)
    pictures = read_pictures(images, upload_name=job.upload.name)
    assert pictures.errors == {}
    assert {image.name: pictures.data[image.id] for image in images} == members


def test_members_far_apart_are_read_in_ranges_of_their_own(monkeypatch):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    monkeypatch.setattr(pictures_module, "RANGE_GAP", 10)
    members = {f"{index}.png": digit_png(index) for index in range(4)}
    job = services.create_job(upload=SimpleUploadedFile("batch.zip", make_zip(members)))
    services.expand_zip_job(job_id=job.id)
    ranges = []
    real_read_range = pictures_module.read_range
    monkeypatch.setattr(pictures_module, "read_range", lambda *args: ranges.append(args[1:]) or real_read_range(*args))
    images = list(job.images.all())
    assert read_pictures(images[::2], upload_name=job.upload.name).data.keys() == {
        images[0].id,
        images[2].id,
    }
    assert len(ranges) == 2


def test_a_member_that_inflates_past_the_limit_is_an_error_of_its_own(monkeypatch, settings):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    job = zip_job({"a.png": digit_png(1), "b.png": digit_png(2)})
    services.expand_zip_job(job_id=job.id)
    settings.OCR_MAX_MEMBER_BYTES = len(digit_png(2)) - 1
    first, second = job.images.all()
    pictures = read_pictures([first, second], upload_name=job.upload.name)
    assert "too large" in pictures.errors[second.id] and first.id in pictures.data


def expanded_members(monkeypatch, count: int) -> tuple[Job, dict[str, bytes], list[Image]]:
    """A zip job of `count` digits of different sizes, expanded; its images in the zip's order."""
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{index}.png": digit_png(index % 10, size=30 + 4 * index) for index in range(count)}
    job = zip_job(members)
    services.expand_zip_job(job_id=job.id)
    return job, members, list(job.images.order_by("member_offset"))


def spy_on_ranges(monkeypatch) -> list[tuple[int, int]]:
    """The (start, stop) of each range read from storage from now on."""
    ranges = []
    real_read_range = pictures_module.read_range

    def read_range(name, start, stop):
        ranges.append((start, stop))
        return real_read_range(name, start, stop)

    monkeypatch.setattr(pictures_module, "read_range", read_range)
    return ranges


def test_a_chunk_is_read_in_ranges_no_longer_than_the_budget(monkeypatch):
    job, members, images = expanded_members(monkeypatch, count=8)
    budget = 3 * max(image.member_size for image in images)
    monkeypatch.setattr(pictures_module, "RANGE_MAX_BYTES", budget)
    ranges = spy_on_ranges(monkeypatch)
    pictures = read_pictures(images, upload_name=job.upload.name)
    assert pictures.errors == {}
    assert {image.name: pictures.data[image.id] for image in images} == members
    assert 1 < len(ranges) < len(images), "several members a range, and several ranges"
    assert all(stop - start <= budget for start, stop in ranges)


def test_a_member_bigger_than_the_budget_is_read_alone(monkeypatch):
    monkeypatch.setattr(services, "_queue_classification", lambda job_id, ids: None)
    members = {"1.png": digit_png(1, size=28), "big.png": digit_png(8, size=200), "2.png": digit_png(2, size=28)}
    job = zip_job(members)
    services.expand_zip_job(job_id=job.id)
    images = {image.name: image for image in job.images.all()}
    big = images["big.png"]
    monkeypatch.setattr(pictures_module, "RANGE_MAX_BYTES", big.member_size - 1)
    ranges = spy_on_ranges(monkeypatch)
    pictures = read_pictures(list(images.values()), upload_name=job.upload.name)
    assert {name: pictures.data[image.id] for name, image in images.items()} == members
    assert len(ranges) == 3 and (big.member_offset, big.member_offset + big.member_size) in ranges


def test_the_next_range_is_read_only_once_the_images_before_it_are_taken(monkeypatch):
    job, members, images = expanded_members(monkeypatch, count=4)
    monkeypatch.setattr(pictures_module, "RANGE_MAX_BYTES", 1)  # each member a range of its own
    ranges = spy_on_ranges(monkeypatch)
    stream = stream_pictures(images, upload_name=job.upload.name)
    assert next(stream) == (images[0].id, members[images[0].name], "")
    assert len(ranges) == 1
    assert [image_id for image_id, _, _ in stream] == [image.id for image in images[1:]]
    assert len(ranges) == 4


def test_an_unreadable_range_fails_its_images_alone(monkeypatch):
    job, members, images = expanded_members(monkeypatch, count=4)
    monkeypatch.setattr(pictures_module, "RANGE_MAX_BYTES", 1)
    real_read_range = pictures_module.read_range

    def read_range(name, start, stop):
        if start == images[1].member_offset:
            raise OSError("connection reset")
        return real_read_range(name, start, stop)

    monkeypatch.setattr(pictures_module, "read_range", read_range)
    pictures = read_pictures(images, upload_name=job.upload.name)
    assert pictures.errors == {images[1].id: "stored image could not be read: connection reset"}
    assert {image.name: pictures.data[image.id] for image in images if image != images[1]} == {
        name: data for name, data in members.items() if name != images[1].name
    }

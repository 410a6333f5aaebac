"""Hostile and broken input, each refused with a readable 400 or reported per image while the rest
of the job completes. Zip-level cases on their own are in test_ingestion.py."""

import io
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIRequest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from tests.factories import digit_image, digit_png, encode, make_zip
from uploads import services as upload_services
from uploads.models import Job
from worker import services
from worker.model import get_classifier

pytestmark = pytest.mark.django_db


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the pixel data never comes (a bomb costs nothing to make)."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def post(name: str, data: bytes):
    return APIClient().post("/api/jobs/", {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_huge_image_is_refused_before_decoding():
    response = post("huge.png", png_header_only(20_000, 20_000))
    assert response.status_code == 400
    assert "too large" in response.json()["detail"]


def test_upload_over_the_size_limit_is_refused(settings):
    settings.OCR_MAX_UPLOAD_BYTES = 1_000
    response = post("big.png", digit_png(3, size=400))
    assert response.status_code == 400 and "upload too large" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/jobs/", "/"])
def test_a_body_declared_far_over_the_limit_is_refused_before_it_is_read(client, monkeypatch, path):
    """Django would spool the whole body to disk before the view could check the file's size."""
    monkeypatch.setattr(WSGIRequest, "read", lambda self, *args: pytest.fail("the body was read"))
    response = client.post(path, data=b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH="50000000000")
    assert response.status_code == 413 and "upload too large: 50000000000 bytes" in response.json()["detail"]


def test_zip_with_more_members_than_the_limit_is_refused(settings):
    settings.OCR_MAX_ZIP_MEMBERS = 3
    response = post("many.zip", make_zip({f"{index}.png": digit_png(index) for index in range(4)}))
    assert response.status_code == 400 and "too many files" in response.json()["detail"]


@pytest.mark.parametrize("payload", [b"<html><script>alert(1)</script></html>", b"%PDF-1.4 nothing"])
def test_active_content_named_as_an_image_is_refused(payload):
    response = post("digit.png", payload)
    assert response.status_code == 400 and "not an image" in response.json()["detail"]
    assert Job.objects.count() == 0


def encrypted_member_zip(inner: dict[str, bytes]) -> bytes:
    """Python cannot write encrypted zips: set the 'encrypted' flag bit on the first member."""
    data = bytearray(make_zip(inner, compression=zipfile.ZIP_STORED))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    return bytes(data)


def exif_rotated_jpeg(digit: int) -> bytes:
    """The digit stored rotated, with the EXIF orientation that turns it upright again."""
    upright = digit_image(digit, size=64)
    stored = upright.transpose(PILImage.Transpose.ROTATE_90)
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def animated_gif(first: int, second: int) -> bytes:
    frames = [digit_image(first, size=64, mode="P"), digit_image(second, size=64, mode="P")]
    output = io.BytesIO()
    frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return output.getvalue()


def palette_with_transparency(digit: int) -> bytes:
    image = digit_image(digit, size=64).convert("P")
    return encode(image, "PNG", transparency=255)


def sixteen_bit(digit: int) -> bytes:
    image = digit_image(digit, size=64).point(lambda value: value * 257, "I").convert("I;16")
    return encode(image, "PNG")


HOSTILE_MEMBERS = {
    "truncated.png": digit_png(4)[:60],
    "zero.png": b"",
    "over-pixel-limit.png": png_header_only(6_000, 6_000),
    "notes.txt": b"twelve apples",
}
READABLE_MEMBERS = {
    "cmyk.jpg": (5, encode(digit_image(5, size=64, mode="CMYK"), "JPEG", quality=95)),
    "sixteen-bit.png": (6, sixteen_bit(6)),
    "palette-transparent.png": (7, palette_with_transparency(7)),
    "rotated.jpg": (2, exif_rotated_jpeg(2)),
    "animated.gif": (3, animated_gif(3, 8)),
    "lies.jpg": (9, digit_png(9)),
    "name-\x07with-\x1bcontrols.png": (1, digit_png(1)),
}


def test_a_zip_of_broken_and_odd_images_completes_with_reasons(settings, monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {**HOSTILE_MEMBERS, **{name: data for name, (_, data) in READABLE_MEMBERS.items()}}
    job = upload_services.create_job(upload=SimpleUploadedFile("odd.zip", make_zip(members)))
    upload_services.expand_zip_job(job_id=job.id)
    ids = list(job.images.values_list("id", flat=True))
    services.classify_chunk(job_id=job.id, image_ids=ids, classifier=get_classifier())

    job.refresh_from_db()
    assert (job.status, job.processed, job.total) == ("done", len(members), len(members))
    images = {image.name: image for image in job.images.all()}
    assert "corrupt" in images["truncated.png"].error or "not an image" in images["truncated.png"].error
    assert "not an image" in images["zero.png"].error
    assert "too large" in images["over-pixel-limit.png"].error
    assert "not an image" in images["notes.txt"].error
    for name, (digit, _) in READABLE_MEMBERS.items():
        shown = name.replace("\x07", "").replace("\x1b", "")
        image = images[shown]
        assert image.status == "done" and image.digit == digit, (name, image.error, image.digit)


def test_encrypted_member_is_reported():
    data = encrypted_member_zip({"secret.png": digit_png(1), "open.png": digit_png(2)})
    job = upload_services.create_job(upload=SimpleUploadedFile("enc.zip", data))
    upload_services.expand_zip_job(job_id=job.id)
    errors = dict(job.images.values_list("name", "error"))
    assert "encrypted" in errors["secret.png"] and errors["open.png"] == ""


def test_non_utf8_member_names_are_kept_readable():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        info = zipfile.ZipInfo("placeholder.png")
        archive.writestr(info, digit_png(3))
    data = output.getvalue().replace(b"placeholder.png", b"caf\xe9\x8e-abcde.png")
    job = upload_services.create_job(upload=SimpleUploadedFile("cp437.zip", data))
    upload_services.expand_zip_job(job_id=job.id)
    name = job.images.get().name
    assert name.startswith("caf") and name.endswith(".png") and name.isprintable()

"""The stored bytes of images: a file of their own (single uploads, zip members Python's zipfile
alone can decompress), or their member of the job's stored zip, read back by byte range. A chunk's
members lie side by side in the zip, so a few of them cost one read of storage (one request on S3).

A chunk's images are handed over one at a time (`stream_pictures`): a reader holds one range of at
most RANGE_MAX_BYTES and one image's bytes, however many images the chunk has."""

import zipfile
import zlib
from typing import Iterator, NamedTuple

from django.conf import settings

from uploads.stored_files import read_range

RANGE_GAP = 1 << 20  # members further apart than this are read in separate ranges
RANGE_MAX_BYTES = 32 << 20  # no range spans more (a member bigger than this is read alone)


class StoredPicture(NamedTuple):
    image_id: int
    data: bytes  # empty when they could not be read
    error: str = ""  # a reason a person can read


def stream_pictures(images, *, upload_name: str) -> Iterator[StoredPicture]:
    """The bytes of each image (of one job, whose zip is stored as `upload_name`), one image at a
    time: a range is read only once the images of the one before have been taken."""
    for image in images:
        if image.member_offset is None:
            yield _file_picture(image)
    in_zip = sorted((image for image in images if image.member_offset is not None), key=lambda i: i.member_offset)
    for group in _side_by_side(in_zip):
        yield from _member_pictures(group, upload_name)


def picture_bytes(image) -> bytes:
    """One image's bytes; OSError when they cannot be read."""
    ((_, data, error),) = stream_pictures([image], upload_name=image.job.upload.name)
    if error:
        raise OSError(error)
    return data


def _file_picture(image) -> StoredPicture:
    try:
        with image.file.open("rb") as stored:
            return StoredPicture(image.id, stored.read())
    except OSError as exc:
        return _unreadable(image, exc)


def _unreadable(image, exc: Exception) -> StoredPicture:
    return StoredPicture(image.id, b"", f"stored image could not be read: {exc}")


def _side_by_side(images: list) -> list[list]:
    """Images sorted by offset, in groups whose members are at most RANGE_GAP apart and whose range
    spans at most RANGE_MAX_BYTES (or is one member alone)."""
    groups = []
    for image in images:
        if groups and _joins(groups[-1], image):
            groups[-1].append(image)
        else:
            groups.append([image])
    return groups


def _joins(group: list, image) -> bool:
    close = image.member_offset - _end(group[-1]) <= RANGE_GAP
    return close and _end(image) - group[0].member_offset <= RANGE_MAX_BYTES


def _end(image) -> int:
    return image.member_offset + image.member_size


def _member_pictures(group: list, upload_name: str) -> Iterator[StoredPicture]:
    start = group[0].member_offset
    try:
        stored = memoryview(read_range(upload_name, start, max(_end(image) for image in group)))
    except OSError as exc:
        for image in group:
            yield _unreadable(image, exc)
        return
    for image in group:
        # Yielded straight from the call: no local of this frame keeps the bytes once they are taken.
        yield _member_picture(image, stored[image.member_offset - start : _end(image) - start])


def _member_picture(image, raw: memoryview) -> StoredPicture:
    try:
        return StoredPicture(image.id, _expanded(raw, image.member_compression))
    except (zlib.error, ValueError) as exc:
        return _unreadable(image, exc)


def _expanded(raw: memoryview, compression: int) -> bytes:
    """A member's bytes as the zip stores them, decompressed, never past OCR_MAX_MEMBER_BYTES."""
    limit = settings.OCR_MAX_MEMBER_BYTES
    if compression == zipfile.ZIP_STORED:
        data = raw
    else:
        data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, limit + 1)
    if len(data) > limit:
        raise ValueError(f"file too large once uncompressed (limit {limit} bytes)")
    return bytes(data)

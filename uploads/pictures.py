"""The stored bytes of images: a file of their own (single uploads, zip members Python's zipfile
alone can decompress), or their member of the job's stored zip, read back by byte range. A chunk's
members lie side by side in the zip, so a chunk costs one read of storage (one request on S3)."""

import zipfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings

from uploads.stored_files import read_range

RANGE_GAP = 1 << 20  # members further apart than this are read in separate ranges


@dataclass
class Pictures:
    data: dict = field(default_factory=dict)  # image id -> bytes
    errors: dict = field(default_factory=dict)  # image id -> a reason a person can read


def read_pictures(images, *, upload_name: str) -> Pictures:
    """The bytes of each image (of one job, whose zip is stored as `upload_name`)."""
    pictures = Pictures()
    in_zip = sorted((image for image in images if image.member_offset is not None), key=lambda i: i.member_offset)
    for image in images:
        if image.member_offset is None:
            _read_file(image, pictures)
    for group in _side_by_side(in_zip):
        _read_members(group, upload_name, pictures)
    return pictures


def picture_bytes(image) -> bytes:
    """One image's bytes; OSError when they cannot be read."""
    pictures = read_pictures([image], upload_name=image.job.upload.name)
    if image.id in pictures.errors:
        raise OSError(pictures.errors[image.id])
    return pictures.data[image.id]


def _read_file(image, pictures: Pictures) -> None:
    try:
        with image.file.open("rb") as stored:
            pictures.data[image.id] = stored.read()
    except OSError as exc:
        pictures.errors[image.id] = f"stored image could not be read: {exc}"


def _side_by_side(images: list) -> list[list]:
    """Images sorted by offset, in groups whose members are at most RANGE_GAP apart."""
    groups = []
    for image in images:
        if groups and image.member_offset - _end(groups[-1][-1]) <= RANGE_GAP:
            groups[-1].append(image)
        else:
            groups.append([image])
    return groups


def _end(image) -> int:
    return image.member_offset + image.member_size


def _read_members(group: list, upload_name: str, pictures: Pictures) -> None:
    start = group[0].member_offset
    try:
        stored = read_range(upload_name, start, max(_end(image) for image in group))
    except OSError as exc:
        pictures.errors.update((image.id, f"stored image could not be read: {exc}") for image in group)
        return
    for image in group:
        raw = stored[image.member_offset - start : _end(image) - start]
        try:
            pictures.data[image.id] = _expanded(raw, image.member_compression)
        except (zlib.error, ValueError) as exc:
            pictures.errors[image.id] = f"stored image could not be read: {exc}"


def _expanded(raw: bytes, compression: int) -> bytes:
    """A member's bytes as the zip stores them, decompressed, never past OCR_MAX_MEMBER_BYTES."""
    limit = settings.OCR_MAX_MEMBER_BYTES
    if compression == zipfile.ZIP_STORED:
        data = raw
    else:
        data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, limit + 1)
    if len(data) > limit:
        raise ValueError(f"file too large once uncompressed (limit {limit} bytes)")
    return data

"""Reading uploads safely: telling images from zips, and listing a zip's members with limits enforced
while reading (headers are not trusted). No Django models here: plain functions over bytes and files."""

import lzma
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import PIL.Image

from ml.preprocess import IMAGE_FORMATS

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_NAME_LENGTH = 255
READ_BLOCK = 64 * 1024


class UploadError(ValueError):
    """An upload refused as a whole; str() is a readable reason."""


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_member_bytes: int
    max_total_bytes: int


@dataclass(frozen=True)
class Place:
    """Where a member's stored bytes lie in its zip: they can be read again from there alone."""

    offset: int
    size: int
    compression: int  # zipfile.ZIP_STORED or zipfile.ZIP_DEFLATED


@dataclass(frozen=True)
class Member:
    """One candidate image of a zip: its bytes (and their place, when they can be read again from the
    zip alone), or why they could not be taken."""

    name: str
    data: bytes | None = None
    error: str = ""
    place: Place | None = None


READABLE_IN_PLACE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def is_zip(file: BinaryIO) -> bool:
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head in ZIP_MAGIC


def identify_image(file: BinaryIO, *, unknown: str = "not an image") -> str:
    """Return the image format (PNG, JPEG, ...) from the header alone; nothing is decoded.
    `unknown` starts the refusal of a file Pillow does not recognise."""
    file.seek(0)
    try:
        with PIL.Image.open(file, formats=IMAGE_FORMATS) as image:
            return image.format
    except PIL.Image.DecompressionBombError as exc:
        raise UploadError(f"image too large: {exc}") from exc
    except Exception as exc:
        raise UploadError(f"{unknown}: the file's format is not recognised") from exc
    finally:
        file.seek(0)


def display_name(raw: str) -> str:
    """A file name fit to show: control characters removed, at most MAX_NAME_LENGTH characters."""
    cleaned = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    if len(cleaned) > MAX_NAME_LENGTH:
        cleaned = "…" + cleaned[-(MAX_NAME_LENGTH - 1) :]
    return cleaned or "unnamed"


def is_ignored(info: zipfile.ZipInfo) -> bool:
    """Folders, macOS resource forks and hidden files are not images a person meant to send."""
    if info.filename.endswith("/"):  # a folder; not is_dir(), which fails on an empty name
        return True
    parts = info.filename.replace("\\", "/").split("/")
    return parts[0] == "__MACOSX" or any(part.startswith(".") and part not in {".", ".."} for part in parts)


def open_zip(file: BinaryIO, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a zip and list its candidate images; refuses corrupt, empty and oversized archives."""
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise UploadError(f"corrupt zip: {exc}") from exc
    members = [info for info in archive.infolist() if not is_ignored(info)]
    if not members:
        raise UploadError("empty zip: it holds no files (folders, hidden files and __MACOSX are ignored)")
    if len(members) > limits.max_members:
        raise UploadError(f"too many files in the zip: {len(members)} (limit {limits.max_members})")
    return archive, members


def member_problem(info: zipfile.ZipInfo) -> str:
    """Why a member is refused without reading it, or '' when it may be read."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
        return "refused: unsafe path in the zip (absolute or with '..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "refused: symbolic link in the zip"
    if info.flag_bits & 0x1:
        return "refused: encrypted file in the zip"
    if name.lower().endswith(".zip"):
        return "refused: nested zip archives are not supported"
    return ""


def read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a member, stopping as soon as it passes `limit` bytes whatever its header claims."""
    chunks, size = [], 0
    with archive.open(info) as stream:
        while block := stream.read(READ_BLOCK):
            size += len(block)
            if size > limit:
                raise UploadError(f"file too large once uncompressed (limit {limit} bytes)")
            chunks.append(block)
    return b"".join(chunks)


def read_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], limits: Limits) -> Iterator[Member]:
    """Yield every candidate member, in order, with its bytes or a readable error."""
    total = 0
    for info in members:
        name = display_name(info.filename)
        if problem := member_problem(info):
            yield Member(name=name, error=problem)
            continue
        if total >= limits.max_total_bytes:
            yield Member(
                name=name, error=f"skipped: the zip's total uncompressed size passed {limits.max_total_bytes} bytes"
            )
            continue
        try:
            data = read_limited(archive, info, min(limits.max_member_bytes, limits.max_total_bytes - total))
        except UploadError as exc:
            yield Member(name=name, error=str(exc))
            continue
        except (
            zipfile.BadZipFile,
            zlib.error,
            lzma.LZMAError,
            OSError,
            EOFError,
            ValueError,
            RuntimeError,
            NotImplementedError,
        ) as exc:
            yield Member(name=name, error=f"corrupt file in the zip: {exc}")
            continue
        total += len(data)
        yield Member(name=name, data=data, place=place_in_zip(archive, info))


def place_in_zip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Place | None:
    """The member's stored bytes start after its local header, whose name and extra field may be
    longer than the central directory's copies. None for compressions read only through zipfile."""
    if info.compress_type not in READABLE_IN_PLACE:
        return None
    archive.fp.seek(info.header_offset)
    header = struct.unpack(zipfile.structFileHeader, archive.fp.read(zipfile.sizeFileHeader))
    names = header[zipfile._FH_FILENAME_LENGTH] + header[zipfile._FH_EXTRA_FIELD_LENGTH]
    return Place(info.header_offset + zipfile.sizeFileHeader + names, info.compress_size, info.compress_type)

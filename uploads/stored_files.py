"""The files in storage, found by name prefix: every file a job stores is named jobs/<job id>/...
(uploads/models.py), so a job's files are the files under its prefix, whoever wrote them and when.

On S3 a listing already gives each object's size and date, and deleting takes a thousand keys per
request; elsewhere the storage API's listdir, size and delete are used one file at a time."""

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage

JOBS_FOLDER = "jobs/"


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    modified: datetime


def job_prefix(job_id) -> str:
    return f"{JOBS_FOLDER}{job_id}/"


def files_under(prefix: str) -> Iterator[StoredFile]:
    """Every file whose name starts with `prefix` (a folder, ending in "/")."""
    if isinstance(default_storage, S3Storage):
        return _s3_files_under(prefix)
    return _listed_files_under(prefix)


def delete_files_under(prefix: str) -> int:
    """Delete every file under `prefix`; returns how many there were."""
    if isinstance(default_storage, S3Storage):
        keys = [{"Key": item.key} for item in _s3_objects(prefix)]
        for start in range(0, len(keys), 1000):
            default_storage.bucket.delete_objects(Delete={"Objects": keys[start : start + 1000], "Quiet": True})
        return len(keys)
    names = [stored.name for stored in _listed_files_under(prefix)]
    for name in names:
        default_storage.delete(name)
    _remove_empty_folders(prefix)
    return len(names)


def _s3_objects(prefix: str):
    return default_storage.bucket.objects.filter(Prefix=default_storage._normalize_name(prefix))


def _s3_files_under(prefix: str) -> Iterator[StoredFile]:
    location = default_storage._normalize_name("")
    for item in _s3_objects(prefix):
        yield StoredFile(name=item.key[len(location) :], size=item.size, modified=item.last_modified)


def _listed_files_under(folder: str) -> Iterator[StoredFile]:
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        path = folder + name
        try:
            yield StoredFile(
                name=path, size=default_storage.size(path), modified=default_storage.get_modified_time(path)
            )
        except FileNotFoundError:
            continue  # deleted while listing
    for name in folders:
        yield from _listed_files_under(f"{folder}{name}/")


def _remove_empty_folders(prefix: str) -> None:
    """Local disk keeps the folders of deleted files; remove them while empty (a file written since
    keeps its folder, and the next deletion of the prefix takes both)."""
    root = default_storage.path(prefix)
    for folder, _, _ in os.walk(root, topdown=False):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def read_range(name: str, start: int, stop: int) -> bytes:
    """Bytes start..stop (excluded) of a stored file: one ranged GET on S3, a seek elsewhere."""
    if isinstance(default_storage, S3Storage):
        stored = default_storage.bucket.Object(default_storage._normalize_name(name))
        return stored.get(Range=f"bytes={start}-{stop - 1}")["Body"].read()
    with default_storage.open(name, "rb") as stored:
        stored.seek(start)
        return stored.read(stop - start)

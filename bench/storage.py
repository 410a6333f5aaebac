"""Bytes stored per image of the end-to-end zips: each job's upload and any images copied out of it
(only members compressed other than deflate or stored are; the rest are read from the zip) as they lie
under MEDIA_ROOT/jobs/<job id>/ (local storage). Thumbnails are made on each request, never stored."""

from __future__ import annotations

from pathlib import Path


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def job_storage(media_root: Path, job_id: str, images: int) -> dict:
    folder = media_root / "jobs" / job_id
    upload, extracted = folder_bytes(folder / "upload"), folder_bytes(folder / "images")
    return {
        "images": images,
        "upload_bytes": upload,
        "image_bytes": extracted,
        "thumbnail_bytes": 0,
        "bytes_per_image": round((upload + extracted) / images),
    }


def measure(scaling: list[dict]) -> list[dict]:
    """One entry per end-to-end run (`measure.end_to_end` results)."""
    from config import settings as app_settings

    return [job_storage(Path(app_settings.MEDIA_ROOT), run["job_id"], run["images"]) for run in scaling]


def rows(storage: list[dict]) -> list[tuple[str, str, str]]:
    return [
        (
            f"storage: {run['images']:,}-image zip, bytes per image",
            f"{run['bytes_per_image']:,} (upload {run['upload_bytes'] / run['images']:,.0f}"
            f" + images copied out {run['image_bytes'] / run['images']:,.0f}; thumbnails not stored)",
            "",
        )
        for run in storage
    ]

"""Property-based fuzzing of ingestion: whatever the bytes, reading them ends in a result or a
readable refusal, never another exception. Bounded in the suite; longer with
HYPOTHESIS_PROFILE=long (e.g. `make test ARGS="tests/uploads/test_fuzz_ingestion.py"`)."""

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.preprocess import ImageError, prepare
from tests.factories import digit_image, digit_png, encode, make_zip
from uploads.ingestion import Limits, UploadError, identify_image, is_zip, open_zip, read_members

settings.register_profile("suite", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

LIMITS = Limits(max_members=50, max_member_bytes=200_000, max_total_bytes=1_000_000)
SEED_PNG = digit_png(8, size=32)
SEED_IMAGES = [SEED_PNG] + [
    encode(digit_image(8, size=32, mode="RGB"), fmt) for fmt in ("JPEG", "GIF", "TIFF", "BMP", "WEBP", "ICO", "PPM")
]
SEED_ZIP = make_zip({"a/1.png": SEED_PNG, "b.txt": b"text"})


def mutated(seed: bytes):
    """The seed with some bytes overwritten and maybe cut short: mostly-valid files find more paths."""
    return st.tuples(
        st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), max_size=12),
        st.integers(1, len(seed)),
    ).map(lambda edits: _apply(seed, *edits))


def _apply(seed: bytes, replacements, length) -> bytes:
    data = bytearray(seed)
    for index, value in replacements:
        data[index] = value
    return bytes(data[:length])


def ingest(data: bytes) -> None:
    upload = io.BytesIO(data)
    try:
        if is_zip(upload):
            archive, members = open_zip(upload, LIMITS)
            for member in read_members(archive, members, LIMITS):
                assert (member.data is None) != (member.error == "")
        else:
            identify_image(upload)
    except UploadError as exc:
        assert str(exc)


@given(st.one_of(st.binary(max_size=2_000), mutated(SEED_ZIP)))
def test_any_upload_is_read_or_refused_with_a_reason(data):
    ingest(data)


@given(st.one_of(st.binary(max_size=500), st.sampled_from(SEED_IMAGES).flatmap(mutated)))
def test_any_image_bytes_give_an_input_or_a_reason(data):
    try:
        array = prepare(data, max_pixels=1_000_000)
    except ImageError as exc:
        assert str(exc)
    else:
        assert array.shape == (28, 28)

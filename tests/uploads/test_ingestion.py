import io
import stat
import struct
import zipfile

import pytest

from tests.factories import digit_png, make_zip
from uploads.ingestion import (
    Limits,
    UploadError,
    display_name,
    identify_image,
    is_zip,
    open_zip,
    read_members,
)

LIMITS = Limits(max_members=100, max_member_bytes=1_000_000, max_total_bytes=5_000_000)


def members_of(data: bytes, limits: Limits = LIMITS):
    archive, members = open_zip(io.BytesIO(data), limits)
    return list(read_members(archive, members, limits))


def test_png_is_identified_and_not_a_zip():
    upload = io.BytesIO(digit_png(3))
    assert not is_zip(upload)
    assert identify_image(upload) == "PNG"
    assert upload.tell() == 0


def test_text_is_neither_image_nor_zip():
    with pytest.raises(UploadError, match="not an image and not a zip"):
        identify_image(io.BytesIO(b"hello, this is text"), unknown="not an image and not a zip")


def test_formats_beyond_the_common_raster_ones_are_refused_by_their_header():
    """An EPS header is parsed a byte at a time (10 MiB took 5.7 s of a web thread) and needs Ghostscript."""
    eps = io.BytesIO(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n" + b"%%a\n" * 1000)
    with pytest.raises(UploadError, match="not an image: the file's format is not recognised"):
        identify_image(eps)


def test_zip_with_folders_keeps_paths_and_ignores_hidden_files():
    data = make_zip(
        {
            "a/one.png": digit_png(1),
            "a/b/two.png": digit_png(2),
            "__MACOSX/a/._one.png": b"resource fork",
            ".DS_Store": b"finder",
            "a/.hidden.png": digit_png(5),
        }
    )
    assert is_zip(io.BytesIO(data))
    members = members_of(data)
    assert [member.name for member in members] == ["a/one.png", "a/b/two.png"]
    assert all(member.data and not member.error for member in members)


def test_empty_zip_is_refused():
    with pytest.raises(UploadError, match="empty zip"):
        members_of(make_zip({}))


def test_zip_with_only_folders_is_refused_as_empty():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("folder/", b"")
    with pytest.raises(UploadError, match="empty zip"):
        members_of(output.getvalue())


def test_corrupt_zip_is_refused():
    data = make_zip({"one.png": digit_png(1)})
    with pytest.raises(UploadError, match="corrupt zip"):
        members_of(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(UploadError, match="corrupt zip"):
        members_of(data[: len(data) // 2])


def test_too_many_members_is_refused():
    data = make_zip({f"{index}.png": b"x" for index in range(5)})
    with pytest.raises(UploadError, match="too many files"):
        members_of(data, Limits(max_members=4, max_member_bytes=10, max_total_bytes=100))


def test_unsafe_members_become_per_image_errors():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("../evil.png", digit_png(1))
        archive.writestr("/abs.png", digit_png(1))
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("inner.zip", make_zip({"x.png": digit_png(1)}))
        archive.writestr("fine.png", digit_png(4))
    members = members_of(output.getvalue())
    errors = {member.name: member.error for member in members}
    assert "unsafe path" in errors["../evil.png"]
    assert "unsafe path" in errors["/abs.png"]
    assert "symbolic link" in errors["link.png"]
    assert "nested zip" in errors["inner.zip"]
    assert errors["fine.png"] == ""


def test_zip_bomb_member_is_stopped_while_reading():
    bomb = make_zip({"bomb.png": b"\0" * 5_000_000, "ok.png": digit_png(7)})
    assert len(bomb) < 50_000
    members = members_of(bomb, Limits(max_members=10, max_member_bytes=1_000_000, max_total_bytes=10_000_000))
    assert "too large once uncompressed" in members[0].error
    assert members[1].data


def test_total_uncompressed_size_limit_skips_the_rest():
    data = make_zip({f"{index}.bin": b"\0" * 400_000 for index in range(5)})
    members = members_of(data, Limits(max_members=10, max_member_bytes=1_000_000, max_total_bytes=1_000_000))
    assert [bool(member.data) for member in members[:2]] == [True, True]
    assert all(member.error for member in members[2:])


def test_lying_header_does_not_help_a_bomb():
    data = bytearray(make_zip({"big.bin": b"\0" * 2_000_000}, compression=zipfile.ZIP_DEFLATED))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.infolist()[0]
    # Rewrite the declared uncompressed size in the central directory to a small number.
    central = bytes(data).rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    members = members_of(bytes(data), Limits(max_members=10, max_member_bytes=1_000, max_total_bytes=10_000))
    assert members[0].data is None and members[0].error
    assert info.file_size == 2_000_000


def test_display_name_strips_control_characters_and_truncates():
    assert display_name("a\x00b\x1b[31mc.png") == "ab[31mc.png"
    long = display_name("x" * 1000 + ".png")
    assert len(long) == 255 and long.endswith(".png")
    assert display_name("\x01\x02") == "unnamed"


def compressed_start(data: bytes, name: str) -> int:
    """Where a member's compressed bytes start: after its local header, name and extra field."""
    offset = zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    return offset + 30 + name_length + extra_length


def test_a_corrupt_lzma_member_is_reported_and_the_others_read():
    data = bytearray(make_zip({"good.png": digit_png(1), "bad.png": digit_png(2)}, compression=zipfile.ZIP_LZMA))
    start = compressed_start(bytes(data), "bad.png")
    data[start + 20 : start + 60] = bytes(40)
    members = {member.name: member for member in members_of(bytes(data))}
    assert members["good.png"].data == digit_png(1)
    assert members["bad.png"].error.startswith("corrupt file in the zip")


def test_a_zip_of_an_unsupported_version_is_refused():
    data = make_zip({"one.png": digit_png(1)})
    central = data.index(b"PK\x01\x02")
    data = data[: central + 6] + bytes([64, 0]) + data[central + 8 :]  # "version needed to extract": 6.4
    with pytest.raises(UploadError, match="corrupt zip"):
        members_of(data)


def test_a_member_whose_name_is_empty_is_read():
    data = make_zip({"seven.png": digit_png(7)}).replace(b"seven.png", b"\x00even.png")
    (member,) = members_of(data)
    assert (member.name, member.data) == ("unnamed", digit_png(7))

"""The benchmark's inputs: pictures of lines for number mode, and zips that cycle through a pool."""

import zipfile

from bench import images
from ml.preprocess import line_input, open_image


def test_line_pictures_are_distinct_pngs_the_line_reader_can_read():
    pool = images.line_pool(size=6)
    assert len(set(pool)) == 6
    for data in pool:
        assert data.startswith(b"\x89PNG")
        line_input(open_image(data))


def test_a_zip_of_lines_cycles_through_its_pool_under_unique_names(monkeypatch):
    monkeypatch.setitem(images.POOLS, "lines", lambda: (b"first", b"second"))
    zips = images.ZipCache()
    try:
        path = zips.path(5, "lines")
        assert zips.path(5, "lines") == path, "written once"
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            assert names == [f"lines/{index:06d}.png" for index in range(5)]
            assert [archive.read(name) for name in names] == [b"first", b"second"] * 2 + [b"first"]
    finally:
        zips.close()


def test_digit_zips_keep_their_names():
    assert images.member_name("digits", 13) == "img/000013_3.png"

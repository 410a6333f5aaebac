"""Generated lines: deterministic, valid texts, every style renders at a plausible size, varied."""

from __future__ import annotations

import numpy as np
import pytest

from dataset import lines
from ml.lines import ALPHABET


def test_same_seed_same_line():
    first = [lines.random_line(np.random.default_rng(7)) for _ in range(3)]
    second = [lines.random_line(np.random.default_rng(7)) for _ in range(3)]
    for (image_a, text_a), (image_b, text_b) in zip(first, second):
        assert text_a == text_b and np.array_equal(np.asarray(image_a), np.asarray(image_b))


def test_texts_follow_the_separator_rules():
    rng = np.random.default_rng(0)
    texts = [lines.random_text(rng) for _ in range(3000)]
    for text in texts:
        assert 1 <= len(text) <= lines.MAX_LENGTH and set(text) <= set(ALPHABET)
        assert text[-1].isdigit() and text[0] not in ".,"
        assert "-" not in text[1:]
        assert not any(a in lines.SEPARATORS and b in lines.SEPARATORS for a, b in zip(text, text[1:]))
        if sum(char.isdigit() for char in text) == 1:
            assert text.isdigit()
    share = lambda mark: np.mean([mark in text for text in texts])  # noqa: E731
    assert 0.25 < share(".") < 0.4 and 0.05 < share(",") < 0.15 and 0.02 < share("-") < 0.08
    lengths = np.array([len(text) for text in texts])
    assert 0.5 < np.mean((lengths >= 3) & (lengths <= 8))
    assert np.mean([text.startswith("00") for text in texts]) > 0.05


def test_meter_readings_have_three_to_eight_digits_and_a_tenths_digit_after_a_point_in_half():
    rng = np.random.default_rng(0)
    texts = [lines.meter_text(rng) for _ in range(1000)]
    for text in texts:
        digits = text.replace(".", "")
        assert digits.isdigit() and 3 <= len(digits) <= 8
        assert "." not in text or text.index(".") == len(text) - 2
    assert 0.4 < np.mean(["." in text for text in texts]) < 0.6
    assert np.mean([text.startswith("0") for text in texts]) > 0.5


def test_amounts_are_written_in_groups_of_three_often_zeros():
    rng = np.random.default_rng(0)
    texts = [lines.amount_text(rng) for _ in range(1000)]
    for text in texts:
        groups = text.replace(",", ".").split(".")
        assert all(group.isdigit() for group in groups) and len(set(text) - set("0123456789")) <= 1
        if len(groups) > 1:
            assert 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
        assert 4 <= len(text.replace(",", "").replace(".", "")) <= 9
    assert 0.6 < np.mean([("." in text) or ("," in text) for text in texts]) < 0.8
    assert np.mean([text.endswith("000") for text in texts]) > 0.4


LINE_STYLES = sorted(set(lines.STYLES) - {"single"})


@pytest.mark.parametrize("style", LINE_STYLES)
def test_every_style_renders_plausible_pictures(style):
    rng = np.random.default_rng(1)
    for _ in range(6):
        image = lines.STYLES[style](rng, lines.text_for_style(rng, style))
        assert image.mode in ("RGB", "L")
        assert 10 <= image.height <= 110 and 8 <= image.width <= lines.MAX_WIDTH + 2
        assert float(np.asarray(image.convert("L")).std()) > 8  # not a blank picture


def test_every_digit_renders():
    rng = np.random.default_rng(2)
    for style in LINE_STYLES:
        image = lines.STYLES[style](rng, "0123456789" if style != "wheels" else "01234567")
        assert image.width > 2 * image.height


def test_single_digit_lines_show_one_digit_as_the_digit_generators_draw_it():
    rng = np.random.default_rng(4)
    pictures = [lines.single_digit_line(rng, str(digit)) for digit in range(10) for _ in range(3)]
    assert all(float(np.asarray(picture.convert("L")).std()) > 8 for picture in pictures)
    assert np.median([picture.width / picture.height for picture in pictures]) < 1.5, "a digit, not a row"


def test_wheels_refuse_separators():
    with pytest.raises(ValueError):
        lines.wheels_line(np.random.default_rng(0), "12.5")


def test_lines_vary():
    rng = np.random.default_rng(3)
    samples = [lines.random_line(rng) for _ in range(40)]
    assert len({text for _, text in samples}) > 35
    assert len({image.size for image, _ in samples}) > 30
    means = [float(np.asarray(image.convert("L")).mean()) for image, _ in samples]
    assert np.std(means) > 20  # dark displays and captchas, light paper


def _cells(height: int, width: int) -> np.ndarray:
    cells = np.zeros((height, width), np.float32)
    cells[20:60, 10:90] = 1  # the digits' cells: 40 rows, columns 10..89
    return cells


def test_display_cropped_to_its_digits_cuts_little_of_them():
    rng = np.random.default_rng(5)
    for _ in range(200):
        cells = _cells(80, 140)
        lit, _ = lines._cropped_to_digits(rng, (cells, cells), cells, None)
        kept_rows = np.flatnonzero(lit.max(axis=1) > 0).size
        assert 40 - (0.09 + 0.06) * 40 - 1 <= kept_rows <= 40 and lit.shape[0] <= 40 + 0.1 * 40 + 1
        assert 80 - 0.04 * 40 - 1 <= lit.shape[1] <= 80 + 0.4 * 40 + 1


def test_display_cropped_through_its_unit_keeps_every_digit():
    rng = np.random.default_rng(6)
    for _ in range(100):
        cells = _cells(80, 140)
        lit, _ = lines._cropped_to_digits(rng, (cells, cells), cells, (95.0, 135.0))
        assert np.flatnonzero(lit.max(axis=0) > 0).size == 80
        assert lit.shape[1] <= 135


def test_widened_lines_keep_their_height():
    rng = np.random.default_rng(7)
    image, _ = lines.random_line(rng)
    wider = lines._widened(image, 1.8)
    assert wider.height == image.height and abs(wider.width - 1.8 * image.width) <= 1


def test_european_one_gets_a_flag_on_its_left():
    stroke = np.zeros((28, 4), np.float32)
    stroke[:, :] = 1.0
    flagged = lines._european(np.random.default_rng(8), stroke, 1)
    assert flagged.shape[0] == 28 and flagged.shape[1] >= 4 + 0.2 * 28 - 1
    top_half = flagged[:14]
    assert top_half[:, : flagged.shape[1] - 4].max() > 0.5  # ink left of the stroke, near its top
    assert flagged[20:, : flagged.shape[1] - 5].max() < 0.5  # and none at its foot


def test_european_seven_gets_crossed_in_the_middle():
    seven = np.zeros((28, 16), np.float32)
    seven[:3, :] = 1.0
    for row in range(3, 28):
        column = int(15 - row * 10 / 27)
        seven[row, column : column + 3] = 1.0
    crossed = lines._european(np.random.default_rng(9), seven, 7)
    ink_per_row = (crossed > 0.5).sum(axis=1)
    assert ink_per_row[10:18].max() >= 0.4 * 16  # the stroke alone inks 3 per row
    assert ink_per_row[22:].max() <= 4


def test_tight_box_keeps_its_sides_at_the_ink():
    mask = np.zeros((60, 200), np.float32)
    mask[20:40, 30:170] = 1.0
    rng = np.random.default_rng(9)
    for _ in range(200):
        left, top, right, bottom = lines._tight_box(rng, mask, 20)
        slack = 0.06 * 20 + 1  # each side cuts at most degrade.MAX_CUT of the digit's height, or keeps as clear
        assert abs(left - 30) <= slack and abs(right - 170) <= slack
        assert abs(top - 20) <= slack and abs(bottom - 40) <= slack


def test_rounded_window_darkens_its_corners_and_keeps_its_middle():
    window = np.full((60, 40, 3), 200.0)
    rim_colour = np.array([10.0, 20.0, 30.0])
    rounded = lines._with_rounded_rim(window, radius=16, rim=4, colour=rim_colour)
    assert np.allclose(rounded[0, 0], rim_colour) and np.allclose(rounded[-1, -1], rim_colour)
    assert np.allclose(rounded[1, 20], rim_colour)  # the rim runs along the edge too
    assert np.allclose(rounded[30, 20], 200.0) and np.allclose(rounded[10, 20], 200.0)


def test_end_mark_stays_low_and_short_of_a_digit():
    rng = np.random.default_rng(10)
    for _ in range(100):
        mark = lines._end_mark(rng, height=20)
        rows = np.flatnonzero(mark.max(axis=1) > 0.5)
        assert rows.size and rows[0] >= 0.25 * 20 and rows[-1] <= 20  # strokes from mid-height to the baseline
        assert mark.shape[1] <= 20 * 1.5 + 6


def test_faint_meter_look_keeps_segments_close_to_the_backlight():
    rng = np.random.default_rng(11)
    for faint, (low, high) in ((True, (0.6, 0.85)), (False, (0.2, 0.72))):
        for _ in range(50):
            look = lines._meter_look(rng, faint)
            ratio = look.lit / np.maximum(look.background, 1e-6)
            assert np.all((ratio > low - 1e-6) & (ratio < high + 1e-6))


def test_casing_band_covers_whole_rows_or_columns_at_the_edges():
    picture = np.full((40, 200, 3), 120.0)
    rng = np.random.default_rng(12)
    sides_seen = set()
    for _ in range(60):
        changed = np.any(lines._with_casing_band(rng, picture) != picture, axis=2)
        rows, cols = np.flatnonzero(changed.all(axis=1)), np.flatnonzero(changed.all(axis=0))
        assert changed.any() and np.array_equal(
            changed, np.isin(np.arange(40), rows)[:, None] | np.isin(np.arange(200), cols)
        )
        sides_seen |= {"top"} if 0 in rows else set()
        sides_seen |= {"left"} if 0 in cols else set()
        sides_seen |= {"right"} if 199 in cols else set()
    assert sides_seen == {"top", "left", "right"}


def test_grime_scales_with_the_contrast():
    picture = np.full((40, 200, 3), 120.0, np.float32)
    rng = np.random.default_rng(13)
    for contrast in (20.0, 80.0):
        spread = (lines._with_grime(rng, picture, contrast) - picture).std()
        assert 0.08 * contrast < spread < 0.4 * contrast


def test_field_sides_stay_in_the_margins_clear_of_the_writing():
    mask = np.zeros((30, 120), np.float32)
    mask[5:25, 20:100] = 1.0
    rng = np.random.default_rng(14)
    sides_seen = set()
    for _ in range(60):
        picture = np.full((30, 120, 3), 230.0, np.float32)
        lines._draw_field_sides(rng, picture, mask, np.array([40.0, 40.0, 40.0]))
        cols = np.flatnonzero((picture < 100).any(axis=(0, 2)))
        assert not np.any((cols >= 19) & (cols <= 100))  # a pixel's gap to the ink on either side
        sides_seen |= {"left"} if np.any(cols < 19) else set()
        sides_seen |= {"right"} if np.any(cols > 100) else set()
    assert sides_seen == {"left", "right"}

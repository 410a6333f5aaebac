"""Tests for the segment and dot-matrix display digit generator."""

from __future__ import annotations

import numpy as np
import pytest

from dataset import displays


def _pixels(seed: int, digit: int) -> np.ndarray:
    return np.asarray(displays.random_display_digit(np.random.default_rng(seed), digit))


def test_same_seed_draws_the_same_picture():
    for seed in range(5):
        assert np.array_equal(_pixels(seed, 7), _pixels(seed, 7))


@pytest.mark.parametrize("digit", range(10))
def test_every_digit_renders_a_plausible_picture(digit):
    for seed in range(8):
        image = displays.random_display_digit(np.random.default_rng(seed), digit)
        assert image.mode in ("RGB", "L")
        assert 8 <= image.width <= 260 and 12 <= image.height <= 210
        assert 0.3 <= image.width / image.height <= 1.3


def test_pictures_vary():
    rng = np.random.default_rng(0)
    sizes = {displays.random_display_digit(rng, 4).size for _ in range(20)}
    means = {round(float(np.asarray(displays.random_display_digit(rng, 4)).mean())) for _ in range(20)}
    assert len(sizes) > 10 and len(means) > 10


def test_polygon_segments_light_exactly_the_digits_segments():
    render = displays._polygon_renderer(np.random.default_rng(3), digit_height=48)
    eight = render(8).lit.sum()
    for digit, segments in displays.SEVEN_SEGMENTS.items():
        cell = render(digit)
        assert np.all(cell.lit <= cell.segments + 1e-6)  # lit segments are a subset of all segments
        share = cell.lit.sum() / eight
        counts = {len(segments), len(displays.SEGMENT_VARIANTS.get(digit, segments))}
        assert min(abs(share - count / 7) for count in counts) < 0.12, digit


def test_dot_matrix_patterns_are_5_by_7_and_distinct():
    patterns = {digit: displays._dot_pattern(digit, 7) for digit in range(10)}
    assert all(pattern.shape == (7, 5) for pattern in patterns.values())
    assert len({pattern.tobytes() for pattern in patterns.values()}) == 10


def test_display_fonts_are_installed_segment_fonts():
    paths = displays.fonts.display_font_paths()
    assert paths and all("DSEG7" in path or "DSEG14" in path for path in paths)
    cell = displays._font_cell(paths[0], 40, 1, 0)
    assert cell.lit.sum() < 0.6 * cell.segments.sum()  # a 1 lights few of the cell's segments

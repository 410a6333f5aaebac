import numpy as np
from PIL import Image

from dataset import scene


def _pictures(seed: int, digit: int, count: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [scene.random_scene_digit(rng, digit) for _ in range(count)]


def test_same_seed_gives_the_same_picture():
    first, second = _pictures(3, 5, 5), _pictures(3, 5, 5)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, second))


def test_every_digit_renders_as_a_small_rgb_or_grey_picture():
    for digit in range(10):
        for picture in _pictures(digit, digit, 6):
            assert isinstance(picture, Image.Image) and picture.mode in ("RGB", "L")
            assert 6 <= picture.width <= 260 and 8 <= picture.height <= 170
            assert np.asarray(picture).std() > 2  # not a blank patch


def test_pictures_vary_in_size_mode_and_colour():
    pictures = _pictures(11, 4, 60)
    assert len({picture.size for picture in pictures}) > 20
    assert {picture.mode for picture in pictures} == {"RGB", "L"}
    means = [np.asarray(picture.convert("RGB"), float).mean(axis=(0, 1)) for picture in pictures]
    assert np.ptp(np.array(means), axis=0).min() > 60


def test_plate_characters_are_white_on_black_20x20():
    rng = np.random.default_rng(0)
    for digit in range(10):
        picture = scene.segmented_plate_character(rng, digit)
        pixels = np.asarray(picture)
        assert picture.mode == "L" and picture.size == (20, 20)
        assert 0.08 < (pixels > 128).mean() < 0.6  # a white digit on a mostly black square
        assert pixels[:, 0].mean() < 60 and pixels[:, -1].mean() < 60


def test_crop_edges_never_hide_much_of_the_digit_nor_show_wide_neighbours():
    rng = np.random.default_rng(5)
    for digit in range(10):
        for _ in range(8):
            colours = scene._sign_colours(rng, 40)
            built = scene._compose(rng, scene._training_fonts()[0], 32, digit, 1.0, colours, 40)
            left, top, right, bottom = scene._detector_crop(rng, built)
            ink = built.digit().astype(float)
            assert ink[max(0, top) : bottom, max(0, left) : right].sum() >= (1 - scene.MAX_CUT_INK) * ink.sum() - 1
            neighbour_columns = (built.neighbours()[:, max(0, left) : right].max(axis=0) > 60).sum()
            assert neighbour_columns <= 2 * scene.NEIGHBOUR_SHARE * (right - left) + 1

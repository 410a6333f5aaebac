"""Mechanical counter-wheel digits: deterministic, every digit, plausible sizes, varied, readable."""

from __future__ import annotations

import numpy as np
import pytest

from dataset import wheels


def _pictures(seed: int, digit: int, count: int):
    rng = np.random.default_rng(seed)
    return [wheels.random_wheel_digit(rng, digit) for _ in range(count)]


def test_same_seed_same_picture():
    first, second = _pictures(3, 5, 4), _pictures(3, 5, 4)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, second))


@pytest.mark.parametrize("digit", range(10))
def test_every_digit_renders_a_narrow_picture(digit):
    for image in _pictures(digit, digit, 10):
        assert image.mode in ("RGB", "L")
        assert 12 <= image.width <= 120 and 22 <= image.height <= 140
        assert 0.3 <= image.width / image.height <= 0.85


def test_pictures_vary():
    images = _pictures(11, 8, 30)
    assert len({image.size for image in images}) > 10
    means = [float(np.asarray(image.convert("L")).mean()) for image in images]
    assert np.std(means) > 15  # light and dark drums, red ones
    assert any(image.mode == "RGB" for image in images)


def test_rolling_neighbour_stays_a_minority():
    """The labelled digit keeps the middle: its strip position is within MAX_ROLL of the pitch."""
    rng = np.random.default_rng(0)
    layout = wheels._random_layout(rng, 60.0, 36.0)
    rolls = []
    for _ in range(200):
        wheel = wheels._random_wheel(rng, layout)
        assert abs(wheel.roll) <= wheels.MAX_ROLL * wheel.pitch + 1e-9
        rolls.append(abs(wheel.roll) / wheel.pitch)
    assert max(rolls) > 0.1  # and the wheels do roll


def test_drum_is_darker_toward_top_and_bottom():
    rng = np.random.default_rng(1)
    layout = wheels._random_layout(rng, 80.0, 50.0)
    wheel = wheels._random_wheel(rng, layout)._replace(shading=2.0, ink=np.zeros(3), drum=np.full(3, 200.0))
    heights = np.linspace(-40, 40, 81)
    drum = wheels._drum_picture(rng, wheel, 1, heights, 40, -1000.0)  # the digit far off to the side
    brightness = drum.mean(axis=(1, 2))
    assert brightness[40] > brightness[5] + 30 and brightness[40] > brightness[-6] + 30

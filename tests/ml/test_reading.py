"""Reading single digits: the first look, and the second look at unsure answers."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml import preprocess
from ml.inference import DigitClassifier
from ml.preprocess import BLANK_IMAGE, ImageError, second_look_inputs, to_network_input
from ml.reading import SECOND_LOOK_BELOW, digit_probabilities, read_digit_pictures
from tests.factories import above_a_bold_underline, beside_a_bright_label

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load()


def clean_digit(digit: str) -> Image.Image:
    picture = Image.new("L", (120, 150), 255)
    ImageDraw.Draw(picture).text((60, 75), digit, fill=0, font=ImageFont.truetype(FONT, 110), anchor="mm")
    return picture


@pytest.mark.parametrize("picture_of_digit", [beside_a_bright_label, above_a_bold_underline])
def test_the_second_look_reads_a_digit_the_first_look_missed(classifier, picture_of_digit):
    pictures = [picture_of_digit(digit) for digit in range(10)]
    inputs = np.stack([to_network_input(picture) for picture in pictures])
    first = classifier.predict_proba(inputs)
    assert (first.max(axis=1) < SECOND_LOOK_BELOW).all()
    assert (first.argmax(axis=1) == np.arange(10)).sum() <= 3

    probabilities = digit_probabilities(inputs, classifier, picture_of=pictures.__getitem__)
    assert list(probabilities.argmax(axis=1)) == list(range(10))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_confident_answers_are_not_looked_at_again(classifier):
    pictures = [clean_digit(str(digit)) for digit in range(10)]
    inputs = np.stack([to_network_input(picture) for picture in pictures])

    def no_second_look(index):
        raise AssertionError(f"picture {index} was read again")

    probabilities = digit_probabilities(inputs, classifier, picture_of=no_second_look)
    assert list(probabilities.argmax(axis=1)) == list(range(10))
    assert np.array_equal(probabilities, classifier.predict_proba(inputs))


def test_a_picture_that_is_gone_keeps_its_first_answer(classifier):
    inputs = to_network_input(beside_a_bright_label(5))[None]
    probabilities = digit_probabilities(inputs, classifier, picture_of=lambda index: None)
    assert np.array_equal(probabilities, classifier.predict_proba(inputs))


def test_second_look_inputs_are_network_inputs_and_skip_blank_readings(monkeypatch):
    looks = second_look_inputs(beside_a_bright_label(3))
    assert len(looks) == 4
    for look in looks:
        assert look.shape == (28, 28) and look.dtype == np.float32
        assert 0.0 <= look.min() and look.max() <= 1.0

    def finds_no_ink(ink):
        raise ImageError(BLANK_IMAGE)

    monkeypatch.setattr(preprocess, "_without_margin_lines", finds_no_ink)
    assert len(second_look_inputs(beside_a_bright_label(3))) == 3


def test_pictures_without_ink_are_left_out(classifier):
    pictures = [clean_digit("4"), Image.new("L", (50, 50), 255), clean_digit("8")]
    readable, probabilities = read_digit_pictures(pictures, classifier)
    assert list(readable) == [0, 2]
    assert list(probabilities.argmax(axis=1)) == [4, 8]

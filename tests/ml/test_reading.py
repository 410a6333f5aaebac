"""Reading single digits: one look, the network's, at the picture as it is."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.inference import DigitClassifier, given_a_digit
from ml.preprocess import to_network_input
from ml.reading import digit_probabilities, read_digit_pictures
from tests.factories import above_a_bold_underline, beside_a_bright_label

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load()


def clean_digit(digit: str) -> Image.Image:
    picture = Image.new("L", (120, 150), 255)
    ImageDraw.Draw(picture).text((60, 75), digit, fill=0, font=ImageFont.truetype(FONT, 110), anchor="mm")
    return picture


def test_digit_probabilities_are_the_networks_given_a_digit(classifier):
    inputs = np.stack([to_network_input(clean_digit(str(digit))) for digit in range(10)])
    probabilities = digit_probabilities(inputs, classifier)
    assert list(probabilities.argmax(axis=1)) == list(range(10))
    assert np.allclose(probabilities, given_a_digit(classifier.predict_all(inputs)))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("picture_of_digit", [beside_a_bright_label, above_a_bold_underline])
def test_clutter_beside_the_digit_is_read_past_without_a_rule(classifier, picture_of_digit):
    """The rules that cut such clutter away are gone: the network learnt to look past it."""
    pictures = [picture_of_digit(digit) for digit in range(10)]
    readable, probabilities = read_digit_pictures(pictures, classifier)
    assert (probabilities.argmax(axis=1) == np.arange(10)[readable]).sum() >= 9


def test_pictures_without_ink_are_left_out(classifier):
    pictures = [clean_digit("4"), Image.new("L", (50, 50), 255), clean_digit("8")]
    readable, probabilities = read_digit_pictures(pictures, classifier)
    assert list(readable) == [0, 2]
    assert list(probabilities.argmax(axis=1)) == [4, 8]

"""Reading single digits: one look, the network's, at the picture as it is; and its second look at the
digits a line reader doubts."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.inference import DigitClassifier, given_a_digit
from ml.lines import LineReader, LineReading
from ml.preprocess import line_input, to_network_input
from ml.reading import (
    DIGIT_NETWORK_SURE,
    _digit_columns,
    confirm_doubtful_digits,
    digit_probabilities,
    read_digit_pictures,
)
from tests.factories import above_a_bold_underline, beside_a_bright_label, number_png

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


def test_a_digit_is_read_again_over_the_columns_between_its_neighbours_centres():
    boxes = [[10, 0, 14, 30], [30, 0, 34, 30], [50, 0, 54, 30]]  # centres 12, 32, 52: 20 apart
    assert _digit_columns(boxes, width=60) == [(2, 22), (22, 42), (42, 60)]


def misread(reading: LineReading, index: int, character: str, confidence: float) -> LineReading:
    characters = [dict(character) for character in reading.characters]
    characters[index].update(character=character, confidence=confidence)
    return LineReading.of(characters)


def test_only_the_digits_the_line_reader_doubts_are_read_again_by_the_digit_network(classifier):
    picture = Image.open(io.BytesIO(number_png("2580", height=64)))
    line, placement = line_input(picture)
    reading = LineReader.load().read(line[None], [placement])[0]
    assert reading.text == "2580"
    doubted_and_wrong = misread(misread(reading, 1, "7", 0.3), 3, "6", 0.95)  # the 6 is not doubted

    confirmed = confirm_doubtful_digits([doubted_and_wrong], [picture], classifier)[0]

    assert confirmed.text == "2586"
    assert confirmed.characters[1]["confidence"] >= DIGIT_NETWORK_SURE
    assert confirmed.confidence == pytest.approx(np.prod([c["confidence"] for c in confirmed.characters]))
    assert doubted_and_wrong.text == "2786", "the readings given are left as they were"

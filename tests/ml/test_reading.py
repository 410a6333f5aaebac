"""Reading single digits: one look, the network's, at the picture as it is; and the second looks at what a
line reader doubts: a closer look at a doubtful line, the digit network's look at a doubtful digit."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.inference import DIGITS, DigitClassifier, given_a_digit
from ml.lines import LineReader, LineReading
from ml.preprocess import line_ink, line_input, to_network_input
from ml.reading import (
    DIGIT_NETWORK_SURE,
    DOUBTED_LINE,
    DOUBTED_ONE_DIGIT,
    NARROWED_DIGITS,
    _digit_columns,
    confirm_doubtful_digits,
    doubted_by,
    look_closer,
    narrowing,
    read_digit_pictures,
    read_doubtful_digits_in_one_polarity,
    read_lines,
    read_wide_lines_narrowed,
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


def test_sure_digits_probabilities_are_the_networks_given_a_digit(classifier):
    pictures = [clean_digit(str(digit)) for digit in range(10)]
    _, probabilities = read_digit_pictures(pictures, classifier)
    assert list(probabilities.argmax(axis=1)) == list(range(10))
    assert probabilities.max(axis=1).min() >= DOUBTED_ONE_DIGIT, "none read again"
    inputs = np.stack([to_network_input(picture) for picture in pictures])
    assert np.allclose(probabilities, given_a_digit(classifier.predict_all(inputs)))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


class ScriptedClassifier:
    """A stand-in digit network that answers its one batch with the outputs given, and keeps what it read."""

    def __init__(self, outputs: np.ndarray):
        self.outputs, self.inputs = outputs, None

    def predict_all(self, inputs):
        self.inputs = inputs
        return self.outputs


def outputs_naming(digit: int, confidence: float) -> np.ndarray:
    row = np.full(11, (1 - confidence) / 9)
    row[digit], row[DIGITS] = confidence, 0.0
    return row


def test_only_doubtful_digits_are_read_again_from_one_polarity_and_the_surer_reading_stands():
    pictures = [clean_digit("4"), clean_digit("7"), clean_digit("1")]
    first = np.stack([outputs_naming(4, 0.99), outputs_naming(1, 0.6), outputs_naming(7, DOUBTED_ONE_DIGIT - 0.01)])
    polar = ScriptedClassifier(np.stack([outputs_naming(7, 0.9), outputs_naming(1, 0.5)]))

    outputs = read_doubtful_digits_in_one_polarity(first, pictures, polar)

    assert len(polar.inputs) == 2, "the sure digit is not read again"
    assert np.allclose(polar.inputs[0], to_network_input(pictures[1], one_polarity=True))
    assert list(given_a_digit(outputs).argmax(axis=1)) == [4, 7, 7]
    assert np.allclose(outputs[[0, 2]], first[[0, 2]])


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

    confirmed = confirm_doubtful_digits([doubted_and_wrong], [line_ink(picture)], classifier)[0]

    assert confirmed.text == "2586"
    # the line reader's 7 at 0.3 and the digit network's 5 cannot both be right: the 5 is at most 0.7 sure
    assert confirmed.characters[1]["confidence"] == pytest.approx(1 - 0.3)
    assert confirmed.confidence == pytest.approx(np.prod([c["confidence"] for c in confirmed.characters]))
    assert doubted_and_wrong.text == "2786", "the readings given are left as they were"


def test_a_doubted_digit_the_digit_network_confirms_takes_its_confidence(classifier):
    picture = Image.open(io.BytesIO(number_png("2580", height=64)))
    line, placement = line_input(picture)
    doubted = misread(LineReader.load().read(line[None], [placement])[0], 1, "5", 0.3)

    confirmed = confirm_doubtful_digits([doubted], [line_ink(picture)], classifier)[0]

    assert confirmed.text == "2580" and confirmed.characters[1]["confidence"] >= DIGIT_NETWORK_SURE


def test_a_doubted_digit_of_a_large_photo_is_read_again_from_its_shrunk_copys_own_columns(classifier):
    photo = Image.open(io.BytesIO(number_png("2580", height=1200)))
    ink = line_ink(photo)
    assert ink.source.factor > 1.5, "the photo is kept shrunk"
    line, placement = ink.input()
    reading = LineReader.load().read(line[None], [placement])[0]
    assert reading.text == "2580" and photo.width / 2 < reading.characters[-1]["box"][2] <= photo.width

    confirmed = confirm_doubtful_digits([misread(reading, 1, "7", 0.3)], [ink], classifier)[0]

    assert confirmed.text == "2580"


class ScriptedLineReader:
    """A stand-in line reader that answers its one batch with the readings given, and counts what it read."""

    def __init__(self, readings: list[LineReading]):
        self.readings, self.lines_read = readings, 0

    def read(self, inputs, placements):
        self.lines_read += len(inputs)
        return self.readings


def line_read_at(text: str, confidence: float) -> LineReading:
    share = confidence ** (1 / len(text))
    return LineReading.of([{"character": character, "confidence": share} for character in text])


def test_only_doubtful_lines_are_looked_at_closer_and_the_more_confident_reading_stands():
    picture = Image.open(io.BytesIO(number_png("1234")))
    readings = [line_read_at("1234", 0.99), line_read_at("123", 0.5), line_read_at("5678", DOUBTED_LINE - 0.05)]
    closer = ScriptedLineReader([line_read_at("1284", 0.9), line_read_at("5670", 0.3)])

    looks = look_closer(readings, [line_ink(picture)] * 3, closer, squeezes=[1.0] * 3)

    assert closer.lines_read == 2, "the sure line is not read again"
    assert [(surer.text, other and other.text) for surer, other in looks] == [
        ("1234", None),
        ("1284", "123"),
        ("5678", "5670"),
    ]


def stretched(picture: Image.Image, factor: float) -> Image.Image:
    return picture.resize((round(picture.width * factor), picture.height), Image.Resampling.BILINEAR)


def test_only_lines_of_wide_digits_are_read_again_narrowed_and_the_narrowed_reading_stands():
    picture = Image.open(io.BytesIO(number_png("2580")))
    inks = [line_ink(picture), line_ink(stretched(picture, 3))]
    first = [line_read_at("2580", 0.99), line_read_at("2586", 0.99)]
    narrowed = ScriptedLineReader([line_read_at("2580", 0.98)])

    readings, squeezes = read_wide_lines_narrowed(first, inks, narrowed)

    assert narrowed.lines_read == 1, "the line of digits of their own aspect is not read again"
    assert squeezes[0] == 1 and squeezes[1] < 1 / 2
    assert [reading.text for reading in readings] == ["2580", "2580"]


def test_a_line_is_narrowed_to_digits_of_the_narrowed_aspect():
    ink = line_ink(stretched(Image.open(io.BytesIO(number_png("2580"))), 3))

    squeeze = narrowing(line_read_at("2580", 0.99), ink)

    assert squeeze * ink.width_per_height() / 4 == pytest.approx(NARROWED_DIGITS)
    assert narrowing(LineReading.of([]), ink) == 1, "no digits, no width to narrow to"


def test_a_line_stretched_three_times_as_wide_is_read_and_boxed_in_its_own_pixels(classifier):
    picture = stretched(Image.open(io.BytesIO(number_png("2580"))), 3)
    ink = line_ink(picture)
    wide, _ = ink.input()
    narrow, _ = ink.input(squeeze=1 / 3)
    assert np.count_nonzero(narrow.max(axis=0) > 0.5) < np.count_nonzero(wide.max(axis=0) > 0.5) / 2

    reading = read_lines([ink], LineReader.load(), classifier)[0]

    assert reading.text == "2580"
    boxes = [character["box"] for character in reading.characters]
    assert all(left < right for left, _, right, _ in boxes) and boxes[-1][2] <= picture.width
    assert boxes[0][0] < picture.width / 4 and boxes[-1][2] > picture.width * 3 / 4


def test_a_reading_another_look_disagrees_with_is_at_most_one_minus_its_confidence_sure():
    reading = LineReading.of([{"character": c, "confidence": p} for c, p in zip("123", (0.99, 0.9, 0.99))])

    doubted = doubted_by(reading, line_read_at("1234", 0.5))

    assert doubted.text == "123" and doubted.confidence == pytest.approx(0.5)
    assert [character["confidence"] for character in doubted.characters] == pytest.approx(
        [0.99, 0.5 / 0.99**2, 0.99]
    ), "the doubt falls on the least sure character"
    assert doubted_by(reading, line_read_at("123", 0.7)) == reading, "looks that agree"
    assert doubted_by(reading, None) == reading, "a line looked at once"
    assert doubted_by(reading, line_read_at("12", 0.05)) == reading, "a look too unsure to matter"


def test_the_doubt_falls_on_a_digit_where_the_looks_digits_differ_else_on_a_separator():
    reading = LineReading.of([{"character": c, "confidence": p} for c, p in zip("12,5", (0.99, 0.9, 0.8, 0.99))])

    digits_differ = doubted_by(reading, line_read_at("1235", 0.5))
    separators_differ = doubted_by(reading, line_read_at("12.5", 0.5))

    assert digits_differ.confidence == separators_differ.confidence == pytest.approx(0.5)
    assert digits_differ.characters[1]["confidence"] < 0.9 and digits_differ.characters[2]["confidence"] == 0.8
    assert separators_differ.characters[2]["confidence"] < 0.8 and separators_differ.digits_confidence == (
        pytest.approx(0.99 * 0.9 * 0.99)
    )


def marks_far_above_and_below(text: str, gap: int) -> Image.Image:
    """A line of digits with a short stray mark `gap` pixels above it and one below, as on a form."""
    line = Image.open(io.BytesIO(number_png(text, height=48)))
    picture = Image.new("L", (line.width, line.height + 2 * gap), 255)
    picture.paste(line, (0, gap))
    draw, middle = ImageDraw.Draw(picture), line.width / 2
    for row in (2, picture.height - 3):
        draw.line([(middle - line.width / 10, row), (middle + line.width / 10, row)], fill=0, width=1)
    return picture


def test_a_closer_look_reads_digits_that_far_marks_shrank_in_the_line_readers_frame(classifier):
    picture = marks_far_above_and_below("2580", gap=40)
    reader = LineReader.load()
    line, placement = line_input(picture)
    first_look = reader.read(line[None], [placement])[0]
    assert first_look.text != "2580" and first_look.confidence < DOUBTED_LINE

    assert read_lines([line_ink(picture)], reader, classifier)[0].text == "2580"

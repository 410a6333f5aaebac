"""Segmenting a line of digits and reading whole numbers (no Django, no services: seconds)."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.inference import DigitClassifier
from ml.numbers import NumberReading, is_single_digit, predict_number_file, read_number
from ml.preprocess import ImageError
from ml.segmentation import segment_digits, segment_lattices

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def typeset(text: str, size: int = 48, tracking: float = 0.0, font_path: str = SANS) -> Image.Image:
    """Dark digits on white paper; `tracking` (share of the size) moves the digits closer or apart."""
    font = ImageFont.truetype(font_path, size)
    advances = [font.getlength(character) + tracking * size for character in text]
    image = Image.new("L", (int(sum(advances) + 2 * size), 2 * size), 255)
    draw = ImageDraw.Draw(image)
    x = float(size)
    for character, advance in zip(text, advances):
        draw.text((x, 1.5 * size), character, fill=0, font=font, anchor="ls")
        x += advance
    return image


def ink_blob_count(image: Image.Image) -> int:
    from scipy import ndimage

    return ndimage.label(np.asarray(image) < 128, structure=np.ones((3, 3)))[1]


def lefts(crops) -> list[int]:
    return [crop.box[0] for crop in crops]


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load(num_threads=1)


def test_separate_digits_come_out_left_to_right_with_boxes_in_image_coordinates():
    image = typeset("3141", tracking=0.3)
    crops = segment_digits(image)
    assert len(crops) == 4
    assert lefts(crops) == sorted(lefts(crops))
    for crop in crops:
        left, top, right, bottom = crop.box
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
        assert crop.image.mode == "L"


def test_wide_spacing_and_one_digit():
    assert len(segment_digits(typeset("72", tracking=3.0))) == 2
    assert len(segment_digits(typeset("8"))) == 1
    assert is_single_digit(segment_lattices(typeset("8")))
    assert not is_single_digit(segment_lattices(typeset("85", tracking=0.3)))


@pytest.mark.parametrize(
    ("text", "font_path", "tracking"),
    [("0000", SANS_BOLD, -0.12), ("93", SANS_BOLD, -0.16), ("4711", SANS_BOLD, -0.25)],
)
def test_touching_digits_are_split(text, font_path, tracking, classifier):
    image = typeset(text, size=60, tracking=tracking, font_path=font_path)
    assert ink_blob_count(image) == 1  # the test is only meaningful if the digits really touch
    assert read_number(image, classifier).text == text


def test_broken_stroke_stays_one_digit():
    image = typeset("5", size=80)
    pixels = np.asarray(image).copy()
    bar_row = next(row for row in range(pixels.shape[0]) if (pixels[row] < 128).any())
    left = int(np.flatnonzero((pixels < 128).any(axis=0))[0])
    pixels[bar_row + 12 : bar_row + 17, left - 2 : left + 12] = 255  # cut the 5's top bar off its body
    broken = Image.fromarray(pixels)
    assert ink_blob_count(broken) == 2
    assert len(segment_digits(broken)) == 1


def test_noise_specks_are_dropped():
    image = typeset("47", tracking=0.3)
    draw = ImageDraw.Draw(image)
    for x, y in ((5, 5), (image.width - 8, image.height - 6), (image.width // 2, 4)):
        draw.rectangle((x, y, x + 1, y + 1), fill=0)
    assert len(segment_digits(image)) == 2


def test_underline_and_form_box_sides_are_not_digits(classifier):
    image = typeset("3052", tracking=0.2)
    width, height = image.size
    draw = ImageDraw.Draw(image)
    draw.line((20, height - 14, width - 20, height - 14), fill=0, width=3)  # underline, clear of the digits
    draw.line((8, 4, 8, height - 4), fill=0, width=3)  # box sides, taller than the digits
    draw.line((width - 8, 4, width - 8, height - 4), fill=0, width=3)
    assert ink_blob_count(image) == 7
    assert read_number(image, classifier).text == "3052"


def test_a_short_tick_beside_a_number_is_not_a_one_but_a_real_one_stays(classifier):
    image = typeset("1862", tracking=0.2)
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels < 128).any(axis=1))
    draw = ImageDraw.Draw(image)
    draw.line((12, rows[-1] - (rows[-1] - rows[0]) * 0.55, 12, rows[-1]), fill=0, width=3)  # half as tall
    assert read_number(image, classifier).text == "1862"


@pytest.mark.parametrize("text", ["3.14", "-42", "12-5"])
def test_decimal_point_and_minus_sign_do_not_crash(text, classifier):
    reading = read_number(typeset(text, tracking=0.1), classifier)
    digits = text.replace(".", "").replace("-", "")
    assert reading.text == digits


def test_blank_image_is_an_image_error(classifier):
    with pytest.raises(ImageError, match="blank"):
        segment_digits(Image.new("L", (200, 60), 255))
    with pytest.raises(ImageError):
        read_number(Image.new("RGB", (200, 60), (30, 90, 200)), classifier)


@pytest.mark.parametrize(
    ("text", "font_path", "size", "tracking"),
    [("40271", SANS, 48, 0.0), ("40271", SANS, 20, 0.05), ("9586", SANS_BOLD, 64, 0.0), ("1", SANS, 40, 0.0)],
)
def test_reads_rendered_numbers(text, font_path, size, tracking, classifier):
    reading = read_number(typeset(text, size, tracking, font_path), classifier)
    assert isinstance(reading, NumberReading)
    assert reading.text == text
    assert len(reading.digits) == len(text)
    assert 0.0 < reading.confidence <= 1.0
    assert reading.confidence == pytest.approx(np.prod([digit["confidence"] for digit in reading.digits]))
    assert [digit["digit"] for digit in reading.digits] == [int(character) for character in text]


def test_light_ink_on_dark_paper(classifier):
    image = Image.eval(typeset("306"), lambda value: 255 - value)
    assert read_number(image, classifier).text == "306"


def test_predict_number_file(tmp_path, classifier):
    good, bad = tmp_path / "number.png", tmp_path / "broken.png"
    typeset("40271").save(good)
    bad.write_bytes(b"not an image")
    answer = predict_number_file(good, classifier)
    assert answer["text"] == "40271" and answer["path"] == str(good)
    assert set(answer) == {"path", "text", "confidence", "digits"}
    json.dumps(answer)
    assert set(predict_number_file(bad, classifier)) == {"path", "error"}

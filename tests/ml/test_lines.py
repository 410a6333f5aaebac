"""The line reader's input, and the decoding of its CTC output (numpy only)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.lines import ALPHABET, aligned_steps, decode, greedy_decode
from ml.preprocess import LINE_HEIGHT, LINE_WIDTH, _without_frame_sides, line_ink, line_input, to_line_input

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def steps_for(path: str, sure: float = 0.9) -> np.ndarray:
    """Step probabilities whose likeliest classes spell `path` ("_" is the blank)."""
    steps = np.full((len(path), len(ALPHABET) + 1), (1 - sure) / len(ALPHABET), np.float32)
    for step, character in enumerate(path):
        steps[step, 0 if character == "_" else ALPHABET.index(character) + 1] = sure
    return steps


def test_repeats_merge_and_blanks_split_them():
    reading = decode(steps_for("__11_1__00.55_"))
    assert reading.text == "110.5"
    assert reading.digits == "1105"
    assert [character["steps"] for character in reading.characters] == [[2, 3], [5, 5], [8, 9], [10, 10], [11, 12]]


def test_line_confidence_is_the_product_of_its_characters():
    steps = steps_for("_4_2_")
    steps[3, 3], steps[3, 0] = 0.5, 0.4 + 0.1 / len(ALPHABET)  # the "2" is less sure
    reading = decode(steps)
    assert reading.text == "42"
    assert [character["confidence"] for character in reading.characters] == pytest.approx([0.9, 0.5])
    assert reading.confidence == pytest.approx(0.45)


def test_the_digits_confidence_leaves_the_separators_doubt_out():
    steps = steps_for("_1_9_,_5_")
    steps[5, ALPHABET.index(",") + 1], steps[5, ALPHABET.index(".") + 1] = 0.5, 0.4  # a comma, or a point?
    reading = decode(steps)
    assert (reading.text, reading.digits) == ("19,5", "195")
    assert reading.confidence == pytest.approx(0.9**3 * 0.5)
    assert reading.digits_confidence == pytest.approx(0.9**3)


def test_an_all_blank_line_reads_nothing():
    reading = decode(steps_for("_____"))
    assert (reading.text, reading.confidence, reading.characters) == ("", 0.0, [])


def test_a_doubtful_line_is_read_by_its_paths_summed():
    steps = np.zeros((3, len(ALPHABET) + 1), np.float32)
    steps[:, 0], steps[:, ALPHABET.index("7") + 1] = 0.55, 0.45  # the blank likeliest at each step
    assert greedy_decode(steps).text == ""
    reading = decode(steps)  # "7" by 0.72 of the paths, nothing by 0.55 ** 3
    assert reading.text == "7"
    assert reading.confidence == pytest.approx(0.45)
    first, last = reading.characters[0]["steps"]
    assert first == last and 0 <= first <= 2


def test_a_doubtful_part_is_searched_and_joined_to_the_sure_parts_around_it():
    steps = steps_for("_5_777_5_")  # each 5 at 0.9: the line is doubtful
    steps[3:6] = 0.0
    steps[3:6, 0], steps[3:6, ALPHABET.index("7") + 1] = 0.55, 0.45
    assert greedy_decode(steps).text == "55"
    reading = decode(steps)
    assert reading.text == "575"
    spans = [character["steps"] for character in reading.characters]
    assert spans[0] == [1, 1] and 3 <= spans[1][0] == spans[1][1] <= 5 and spans[2] == [7, 7]


def test_a_labelling_is_aligned_to_the_steps_of_its_likeliest_path():
    steps = steps_for("__11_1__00.55_", sure=0.6)
    labels = [ALPHABET.index(character) + 1 for character in "110.5"]
    assert aligned_steps(steps, labels) == [(2, 3), (5, 5), (8, 9), (10, 10), (11, 12)]


def test_a_line_fills_the_readers_frame_in_height():
    picture = Image.new("L", (300, 60), 255)
    ImageDraw.Draw(picture).text((10, 30), "2026.12", fill=0, font=ImageFont.truetype(FONT, 40), anchor="lm")
    line = to_line_input(picture)
    assert line.shape == (LINE_HEIGHT, LINE_WIDTH) and line.dtype == np.float32
    rows = np.flatnonzero(line.max(axis=1) > 0.3)
    assert rows[-1] - rows[0] + 1 >= 24


@pytest.mark.parametrize("size", [(400, 60), (2400, 300)])  # the second is shrunk before reading
def test_input_columns_map_back_to_picture_pixels(size):
    width, height = size
    picture = Image.new("L", size, 255)
    draw = ImageDraw.Draw(picture)
    bars = [(width // 4, width // 4 + width // 20), (width // 2, width // 2 + width // 40)]
    for left, right in bars:
        draw.rectangle((left, height // 4, right - 1, 3 * height // 4), fill=0)
    line, placement = line_input(picture)
    ink = np.flatnonzero(line.max(axis=0) > 0.5)
    runs = np.split(ink, np.flatnonzero(np.diff(ink) > 1) + 1)
    tolerance = 2 * placement.x_step
    for (left, right), run in zip(bars, runs):
        box = placement.box(run[0], run[-1])
        assert abs(box[0] - left) <= tolerance and abs(box[2] - right) <= tolerance
    assert abs(placement.top - height // 4) <= 0.1 * height and abs(placement.bottom - 3 * height // 4) <= 0.1 * height


def boxed_number(outline: bool = True) -> Image.Image:
    """A pale box of four digits, with a thin dark frame (a web form's field, a captcha) or without."""
    picture = Image.new("RGB", (70, 30), (235, 240, 225))
    draw = ImageDraw.Draw(picture)
    draw.text((35, 15), "4918", fill=(90, 30, 120), font=ImageFont.truetype(FONT, 20), anchor="mm")
    if outline:
        draw.rectangle((0, 0, 69, 29), outline=(40, 40, 40))
    return picture


def test_a_frame_around_the_line_is_not_taken_for_its_background():
    """The digits are the ink, not the box's inside."""
    line = to_line_input(boxed_number())
    assert np.median(line[line > 0]) < 0.3  # thin strokes on nothing, not a bright box
    assert np.sum(line > 0.5) > 200  # the strokes


def test_a_frames_outline_is_cleared_from_the_lines_ink():
    """Left in, its sides stretched the ink box to the whole picture, shrinking the digits in the reader's
    frame: the box is the digits' own, as without the frame."""
    framed = line_ink(boxed_number())
    assert max(framed.ink[0].max(), framed.ink[-1].max(), framed.ink[:, 0].max(), framed.ink[:, -1].max()) == 0
    assert framed.box == line_ink(boxed_number(outline=False)).box


def test_ink_along_part_of_a_side_is_not_a_frames_outline():
    """A stroke reaching a framed picture's edge stays: only a side inked along most of its length is cleared."""
    ink = np.zeros((30, 70), np.float32)
    ink[0, :] = ink[:, 0] = 1.0  # the top and left sides of an outline
    ink[-1, 10:40] = ink[5:25, -1] = 1.0  # strokes along less than FRAME_SIDE_COVER of the bottom and right
    cleared = _without_frame_sides(ink.copy(), inset=3)
    assert cleared[0].max() == cleared[:, 0].max() == 0
    assert cleared[-1, 10:40].min() == cleared[5:25, -1].min() == 1.0
    assert np.array_equal(_without_frame_sides(ink.copy(), inset=0), ink)  # not framed: nothing cleared

"""Single digits from pictures: the network's digit probabilities for their network inputs,
`auto` mode's choice of reader, and the second looks at what the line reader doubts: a closer look at a
doubtful line, the digit network's look at a doubtful digit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from ml.inference import DIGITS, given_a_digit
from ml.lines import LineReading
from ml.preprocess import DECODER_ERRORS, ImageError, LineInk, LinePicture, line_ink, to_network_input

AUTO_ONE_DIGIT_CONFIDENCE = 0.8  # below it, the line reader has a look (and hands one-character lines back)
# A line's digit read at less than DOUBTED_DIGIT is read again by the digit network, over the picture's
# columns between its neighbours; its answer stands when it takes the piece for a digit and is at least
# DIGIT_NETWORK_SURE of it. Chosen on the captcha validation part and fresh generated lines (see
# docs/model-history.md, "The digit network's second look at a line's doubtful digits").
DOUBTED_DIGIT = 0.7
DIGIT_NETWORK_SURE = 0.97
# A line read with less confidence than DOUBTED_LINE is read again from a box that leaves CLOSER_ROW_SPILL
# of the ink's rows out (not 2%): a box border, an underline, a window's frame or a wave far above or below
# the digits then no longer shrinks them in the line reader's frame. The more confident reading stands.
# Chosen on the development sets and fresh generated lines (docs/model-history.md, "A closer look").
DOUBTED_LINE = 0.95
CLOSER_ROW_SPILL = 0.08
# A line whose digits are wider than WIDE_DIGITS times their height (a crop of a few digits stored at a fixed
# size, as meter readings often are) is read narrowed to NARROWED_DIGITS: the reader reads digits of about
# their own aspect best. Chosen on the development sets and generated lines (docs/model-history.md, "Wide
# lines read narrowed").
WIDE_DIGITS = 1.25
NARROWED_DIGITS = 0.9
# A single digit read with less confidence than DOUBTED_ONE_DIGIT is read again from the ink of one polarity
# (`to_network_input(..., one_polarity=True)`); the surer reading stands. Chosen on generated digits of a
# development seed (docs/model-history.md, "A doubtful digit read again from the ink of one polarity").
DOUBTED_ONE_DIGIT = 0.95


def takes_for_one_digit(outputs: np.ndarray) -> np.ndarray:
    """`auto` mode's gate, a boolean per row of (N, 11) digit network outputs: the pictures the network
    takes for one whole digit (trained on numbers and wrong cuts as "not a digit") with a top digit of
    at least AUTO_ONE_DIGIT_CONFIDENCE. The others go to the line reader, so a zip of single digits
    costs little more than in `digit` mode."""
    return (outputs[:, DIGITS] < 0.5) & (given_a_digit(outputs).max(axis=1) >= AUTO_ONE_DIGIT_CONFIDENCE)


def lines_in_doubtful_pictures(
    pictures: Sequence[Image.Image | LinePicture], outputs: np.ndarray, load_line_reader, classifier
) -> dict:
    """`auto`: {index: LineReading} of the pictures the digit network does not take for one digit, read
    by the line reader (`load_line_reader()`, called only if there are any) with its second looks;
    only lines of two or more characters (for one, the digit network's answer stands), and none where the
    line reader finds no ink."""
    doubtful, inks = [], []
    for index, (picture, one_digit) in enumerate(zip(pictures, takes_for_one_digit(outputs))):
        if one_digit:
            continue
        try:
            inks.append(line_ink(picture))
        except DECODER_ERRORS:  # no line ink (an ImageError, or anything a decoder raises): the digit stands
            continue
        doubtful.append(index)
    if not doubtful:
        return {}
    readings = read_lines(inks, load_line_reader(), classifier)
    return {index: line for index, line in zip(doubtful, readings) if len(line.characters) > 1}


def read_lines(inks: Sequence[LineInk], line_reader, classifier) -> list[LineReading]:
    """The lines of pictures, from their `line_ink`s, one batch through the line reader, then the second
    looks: each line of wide digits read narrowed (`read_wide_lines_narrowed`), each doubtful line read closer
    (`look_closer`), each doubtful digit read again by the digit network
    (`confirm_doubtful_digits`); last, a line whose two looks disagree is doubted (`doubted_by`)."""
    inputs, placements = zip(*(ink.input() for ink in inks))
    readings, squeezes = read_wide_lines_narrowed(
        line_reader.read(np.stack(inputs), list(placements)), inks, line_reader
    )
    looks = look_closer(readings, inks, line_reader, squeezes)
    confirmed = confirm_doubtful_digits([surer for surer, _ in looks], inks, classifier)
    return [doubted_by(reading, other) for reading, (_, other) in zip(confirmed, looks)]


def read_wide_lines_narrowed(
    readings: Sequence[LineReading], inks: Sequence[LineInk], line_reader
) -> tuple[list[LineReading], list[float]]:
    """Each line whose digits are wider than WIDE_DIGITS times their height read again narrowed to
    NARROWED_DIGITS, all in one batch; the narrowed reading stands. Also each line's squeeze (1 where it was
    not narrowed)."""
    squeezes = [narrowing(reading, ink) for reading, ink in zip(readings, inks)]
    readings = list(readings)
    wide = [index for index, squeeze in enumerate(squeezes) if squeeze < 1]
    if wide:
        inputs, placements = zip(*(inks[index].input(squeeze=squeezes[index]) for index in wide))
        for index, narrowed in zip(wide, line_reader.read(np.stack(inputs), list(placements))):
            readings[index] = narrowed
    return readings, squeezes


def narrowing(reading: LineReading, ink: LineInk) -> float:
    """The squeeze that brings the reading's digits to NARROWED_DIGITS times their height where they are
    wider than WIDE_DIGITS times it, else 1."""
    digits = len(reading.digits)
    width = ink.width_per_height() / digits if digits else 0.0
    return NARROWED_DIGITS / width if width > WIDE_DIGITS else 1.0


def look_closer(
    readings: Sequence[LineReading], inks: Sequence[LineInk], line_reader, squeezes: Sequence[float]
) -> list[tuple[LineReading, LineReading | None]]:
    """Each line read with less than DOUBTED_LINE confidence read again from a box trimmed closer to its
    digits' rows (CLOSER_ROW_SPILL), narrowed by its squeeze, all in one batch: (the more confident reading,
    the other one), or (the reading, None) for a line not read again."""
    doubtful = [index for index, reading in enumerate(readings) if reading.confidence < DOUBTED_LINE]
    looks: list[tuple[LineReading, LineReading | None]] = [(reading, None) for reading in readings]
    if not doubtful:
        return looks
    inputs, placements = zip(
        *(inks[index].input(row_spill=CLOSER_ROW_SPILL, squeeze=squeezes[index]) for index in doubtful)
    )
    for index, closer in zip(doubtful, line_reader.read(np.stack(inputs), list(placements))):
        first = readings[index]
        looks[index] = (closer, first) if closer.confidence > first.confidence else (first, closer)
    return looks


def doubted_by(reading: LineReading, other: LineReading | None) -> LineReading:
    """The reading, at most 1 - the other look's confidence sure where that look read another text (both
    cannot be right). Else taking the surer of two looks would hide from the review flag the lines whose
    looks disagree. The doubt falls on the least sure digit where the looks' digits differ, else (only their
    separators differ) on the least sure separator, so that `digits_confidence` carries it only when the
    digits are in doubt."""
    most = 1.0 - other.confidence if other is not None and other.text != reading.text else 1.0
    if reading.confidence <= most:
        return reading
    characters = [dict(character) for character in reading.characters]
    digits_differ = other.digits != reading.digits
    suspects = [character for character in characters if character["character"].isdigit() == digits_differ]
    weakest = min(suspects or characters, key=lambda character: character["confidence"])
    weakest["confidence"] *= most / reading.confidence
    return LineReading.of(characters)


def confirm_doubtful_digits(readings: Sequence[LineReading], inks: Sequence[LineInk], classifier) -> list[LineReading]:
    """The readings (read with their placements, so their characters have boxes) with each digit the line
    reader doubts read again by the digit network from its line's picture (the one its ink came from), all in
    one batch; where the network is sure, its digit and confidence replace the line reader's."""
    doubted, inputs = [], []
    for line, (reading, ink) in enumerate(zip(readings, inks)):
        if not doubts_a_digit(reading):
            continue
        picture = ink.source
        digits = [index for index, character in enumerate(reading.characters) if character["character"].isdigit()]
        columns = _digit_columns([reading.characters[index]["box"] for index in digits], picture.width)
        for index, (left, right) in zip(digits, columns):
            if not _is_doubted(reading.characters[index]) or right - left < 2 * picture.factor:
                continue
            try:
                inputs.append(to_network_input(picture.columns(left, right)))
            except ImageError:
                continue
            doubted.append((line, index))
    if not doubted:
        return list(readings)
    outputs = classifier.predict_all(np.stack(inputs))
    probabilities = given_a_digit(outputs)
    sure = (outputs[:, DIGITS] < 0.5) & (probabilities.max(axis=1) >= DIGIT_NETWORK_SURE)
    characters = [[dict(character) for character in reading.characters] for reading in readings]
    for (line, index), chances, is_sure in zip(doubted, probabilities, sure):
        if is_sure:
            characters[line][index].update(_second_opinion(characters[line][index], chances))
    return [LineReading.of(line) for line in characters]


def _second_opinion(character: dict, chances: np.ndarray) -> dict:
    """The digit network's digit and confidence for a doubted character; where it names another digit than
    the line reader did, at most 1 - the line reader's confidence (both cannot be right)."""
    digit, confidence = str(int(chances.argmax())), float(chances.max())
    if digit != character["character"]:
        confidence = min(confidence, 1.0 - character["confidence"])
    return {"character": digit, "confidence": confidence}


def doubts_a_digit(reading: LineReading) -> bool:
    return any(_is_doubted(character) for character in reading.characters)


def _is_doubted(character: dict) -> bool:
    return character["character"].isdigit() and character["confidence"] < DOUBTED_DIGIT


def _digit_columns(boxes: list[list[int]], width: int) -> list[tuple[int, int]]:
    """(left, right) picture columns of each digit: from halfway to the previous digit's centre to halfway
    to the next one's (half the usual spacing at the line's ends). The line reader's box of a digit is
    only the few columns where its alignment peaked, narrower than the digit."""
    centres = [(box[0] + box[2]) / 2 for box in boxes]
    half = float(np.median(np.diff(centres))) / 2 if len(centres) > 1 else width / 2
    bounds = (
        [centres[0] - half] + [(a + b) / 2 for a, b in zip(centres, centres[1:])] + [centres[-1] + half]
        if centres
        else []
    )
    return [
        (max(0, int(left)), min(width, max(int(left) + 2, round(right)))) for left, right in zip(bounds, bounds[1:])
    ]


def read_digit_pictures(pictures: Sequence[Image.Image], classifier) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the pictures that show ink, and their (n, 10) digit probabilities, a doubtful digit
    read again from one polarity (`read_doubtful_digits_in_one_polarity`); pictures without ink (an
    ImageError from `to_network_input`) are left out."""
    readable, inputs = network_inputs(pictures)
    if not len(readable):
        return readable, np.zeros((0, DIGITS), dtype=np.float32)
    outputs = classifier.predict_all(inputs)
    outputs = read_doubtful_digits_in_one_polarity(outputs, [pictures[index] for index in readable], classifier)
    return readable, given_a_digit(outputs)


def read_doubtful_digits_in_one_polarity(
    outputs: np.ndarray, pictures: Sequence[Image.Image | LinePicture], classifier
) -> np.ndarray:
    """The digit network's (N, 11) `outputs` for the pictures, each row whose digit is less sure than
    DOUBTED_ONE_DIGIT read again from the picture's ink of one polarity (the side of the background holding
    most of it), all in one batch: where that reading names a digit more surely, its row stands."""
    confidence = given_a_digit(outputs).max(axis=1)
    doubtful, inputs = [], []
    for index in np.flatnonzero(confidence < DOUBTED_ONE_DIGIT):
        try:
            inputs.append(to_network_input(_as_image(pictures[index]), one_polarity=True))
        except DECODER_ERRORS:  # no ink of that polarity (an ImageError), or a file gone: the first reading stands
            continue
        doubtful.append(index)
    if not doubtful:
        return outputs
    polar = classifier.predict_all(np.stack(inputs))
    surer = given_a_digit(polar).max(axis=1) > confidence[doubtful]
    outputs = outputs.copy()
    outputs[np.asarray(doubtful)[surer]] = polar[surer]
    return outputs


def _as_image(picture: Image.Image | LinePicture) -> Image.Image:
    return picture.picture if isinstance(picture, LinePicture) else picture


def network_inputs(pictures: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the pictures that show ink, and their (n, 28, 28) network inputs."""
    inputs, readable = [], []
    for index, picture in enumerate(pictures):
        try:
            inputs.append(to_network_input(picture))
        except ImageError:
            continue
        readable.append(index)
    return np.asarray(readable, dtype=int), np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.float32)

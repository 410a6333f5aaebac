"""Cut a picture of a line of digits (a number) into one picture per digit.

The ink map is preprocessing's (same background fit, polarity and contrast logic).  Its connected
components are then cleaned up: pieces of one broken digit are merged, digits that touch are split
at the thinnest columns, and dots, dashes and specks are dropped.  Each digit crop is its own ink
only (bright on black), so a neighbour that reaches into its box cannot leak in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ml.preprocess import (
    BLANK_IMAGE,
    INK_LEVEL,
    ImageError,
    _as_float_pixels,
    _ink_strength,
    _is_straight_line,
    _remove_impulse_noise,
    _to_workable_mode,
)

WORKING_SIDE = 1024  # a line of ten digits stays sharp; bigger pictures are box-downscaled
SPECK_MASS = 0.02  # blobs lighter than this share of the heaviest one are noise
BIG_MASS = 0.25  # blobs at least this share of the heaviest one set the line height
FULL_HEIGHT = 0.7  # a blob this tall (share of the line height) is a digit on its own
MIN_HEIGHT = 0.4  # shorter blobs left after merging are dots, dashes or specks
MAX_HEIGHT = 1.6  # taller ones are rules (form-box borders), not digits
MERGE_OVERLAP = 0.5  # share of the narrower blob's width two pieces of one digit overlap by
DIGIT_ASPECT = 0.6  # typical digit width / height when the line gives no better estimate
CUT_WINDOW = 0.3  # a cut is searched this share of a digit width either side of the even spot
WIDTH_PRIOR = 0.25  # weight of (log of piece width / expected width)^2 against classifier log-probability
MAX_OPTIONS = 8
MIN_CUT_RATIO = 1.0  # a blob narrower than this many expected digit widths is one digit, uncut
VALLEY_REACH = 0.12  # a valley is the thinnest column within this share of a digit width either side
CUTS_PER_DIGIT = 3  # candidate cuts kept per expected digit, besides the cut by widths alone
MIN_PIECE_WIDTH = 0.2  # pieces narrower (share of the expected digit width) are no digit...
MAX_PIECE_WIDTH = 1.8  # ... nor wider ones, unless the piece is the whole blob
MAX_DIGIT_WIDTH = 2.5  # a whole blob wider than this is never one digit
RULE_MIN_HEIGHT = 0.75  # a straight upright stroke shorter than this (share of the line height) is no "1"
RULE_MAX_HEIGHT = 1.3  # ... nor one taller than this
RULE_OVERHANG = 0.2  # ... nor one reaching this far above or below the other digits


@dataclass
class _Blob:
    labels: tuple[int, ...]
    top: int
    bottom: int  # exclusive
    left: int
    right: int  # exclusive
    mass: float

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


@dataclass
class DigitCrop:
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in original image pixels
    image: Image.Image  # the digit's ink alone, bright on black, with a small margin


@dataclass
class Lattice:
    """The ways to cut one blob (one digit or a run of touching digits) into digits.

    `columns` are the candidate cut positions, 0 and the blob's width included; `pieces[(i, j)]`
    is the crop between columns i and j with a log-score from its width alone (0 = a typical
    digit's width).  A cut of the blob is a path of pieces from the first column to the last.
    """

    columns: list[int]
    pieces: dict[tuple[int, int], tuple[DigitCrop, float]]

    def best_path(self, score) -> list[tuple[int, int]]:
        """The path with the highest sum of score((i, j)) over its pieces (dynamic programming)."""
        best: dict[int, tuple[float, list[tuple[int, int]]]] = {0: (0.0, [])}
        for end in range(1, len(self.columns)):
            options = [
                (best[start][0] + score((start, end)), best[start][1] + [(start, end)])
                for start in range(end)
                if start in best and (start, end) in self.pieces
            ]
            if options:
                best[end] = max(options, key=lambda option: option[0])
        return best.get(len(self.columns) - 1, (0.0, []))[1]

    def width_prior(self, key: tuple[int, int]) -> float:
        return self.pieces[key][1]


def segment_digits(image: Image.Image) -> list[DigitCrop]:
    """The digits of a one-line number, left to right, cut by widths alone; ImageError if no ink."""
    return [
        lattice.pieces[key][0] for lattice in segment_lattices(image) for key in lattice.best_path(lattice.width_prior)
    ]


def segment_lattices(image: Image.Image) -> list[Lattice]:
    """Per digit-like blob, left to right, the ways it may be cut into digits.

    A handwritten 2 can be as wide as two touching printed digits, so widths alone cannot
    always tell; the reader lets the classifier choose the path whose pieces are surest digits.
    """
    ink, factor = ink_map(image)
    labels, blobs = _components(ink)
    blobs = _without_underlines(blobs, labels)
    line_height = _line_height(blobs)
    blobs = _merge_broken(blobs, line_height)
    line_height = _line_height(blobs)  # a broken digit's pieces no longer pull it down
    blobs = [blob for blob in blobs if _looks_like_digits(blob, line_height)]
    blobs = _without_box_borders(blobs, labels, line_height)
    blobs.sort(key=lambda blob: blob.left + blob.right)
    lattices = []
    for blob in blobs:
        expected = _expected_width(blobs, line_height, exclude=blob)
        columns = _cut_columns(blob, labels, expected)
        pieces = {}
        for first, second in _plausible_pieces(columns, expected):
            piece = _Blob(
                blob.labels, blob.top, blob.bottom, blob.left + columns[first], blob.left + columns[second], 0
            )
            crop = _crop(ink, labels, piece, factor, image.size)
            if crop is not None:
                pieces[(first, second)] = (crop, -WIDTH_PRIOR * np.log(piece.width / expected) ** 2)
        lattice = Lattice(columns, pieces)
        if lattice.best_path(lattice.width_prior):
            lattices.append(lattice)
    return lattices


def _cut_columns(blob: _Blob, labels: np.ndarray, expected: float) -> list[int]:
    """0, the blob's width, and between them the columns where touching digits may meet: the
    thinnest columns near even spacing for each plausible digit count, and the profile's valleys."""
    ratio = blob.width / expected
    if ratio < MIN_CUT_RATIO:
        return [0, blob.width]
    profile = ndimage.uniform_filter1d(_own_ink(blob, labels).sum(axis=0).astype(float), 3)
    likeliest = {piece.left - blob.left for piece in _cut(blob, profile, max(1, round(ratio)))}
    even = {piece.left - blob.left for count in _piece_counts(ratio) for piece in _cut(blob, profile, count)}
    reach = max(1, round(VALLEY_REACH * expected))
    valleys = {
        column
        for column in range(1, blob.width - 1)
        if profile[column] == profile[max(0, column - reach) : column + reach + 1].min()
        and profile[column] < profile.max()
    }
    others = sorted((even | valleys) - likeliest, key=lambda column: profile[column])
    chosen = likeliest | set(others[: CUTS_PER_DIGIT * math.ceil(ratio)])
    return [0, *sorted(column for column in chosen if 0 < column < blob.width), blob.width]


def _plausible_pieces(columns: list[int], expected: float) -> list[tuple[int, int]]:
    """Pairs (i, j) of cut columns a digit can lie between; the whole blob too unless it is far
    wider than any one digit (the expected width is a guess when no other digit stands apart)."""
    last = len(columns) - 1
    whole = [(0, last)] if columns[last] <= MAX_DIGIT_WIDTH * expected or last == 1 else []
    return whole + [
        (first, second)
        for first in range(last)
        for second in range(first + 1, last + 1)
        if (first, second) != (0, last)
        and MIN_PIECE_WIDTH * expected <= columns[second] - columns[first] <= MAX_PIECE_WIDTH * expected
    ]


def _piece_counts(ratio: float) -> list[int]:
    """The digit counts a touching run of this width could hold."""
    return list(range(max(1, int(ratio / 1.7)), max(1, math.ceil(ratio * 1.4)) + 1))[:MAX_OPTIONS]


def ink_map(image: Image.Image) -> tuple[np.ndarray, int]:
    """(ink strength 0..1 per working pixel, downscale factor to original pixels)."""
    image = _to_workable_mode(image)
    factor = max(1, max(image.size) // WORKING_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    pixels = _as_float_pixels(image)
    return _ink_strength(_remove_impulse_noise(pixels)), factor


def _components(ink: np.ndarray) -> tuple[np.ndarray, list[_Blob]]:
    labels, count = ndimage.label(ink > INK_LEVEL, structure=np.ones((3, 3)))
    if count == 0:
        raise ImageError(BLANK_IMAGE)
    masses = ndimage.sum_labels(ink, labels, index=np.arange(1, count + 1))
    blobs = []
    for index, box in enumerate(ndimage.find_objects(labels)):
        if masses[index] >= SPECK_MASS * masses.max():
            rows, cols = box
            blobs.append(_Blob((index + 1,), rows.start, rows.stop, cols.start, cols.stop, float(masses[index])))
    return labels, blobs


def _is_rule(blob: _Blob, labels: np.ndarray) -> bool:
    """A long, thin, straight stroke: a ruled line, a form-box border, an underline (or a "1")."""
    return _is_straight_line(_own_ink(blob, labels))


def _without_underlines(blobs: list[_Blob], labels: np.ndarray) -> list[_Blob]:
    """Drop flat rules longer than the digits are tall (underlines, box edges), before they
    could be merged with the digits above them as if they were a broken stroke."""
    flat_rules = [blob for blob in blobs if blob.width > blob.height and _is_rule(blob, labels)]
    others = [blob for blob in blobs if blob not in flat_rules]
    if not others:
        return blobs
    tallest = max(blob.height for blob in others)
    return others + [rule for rule in flat_rules if rule.width < tallest]


def _without_box_borders(blobs: list[_Blob], labels: np.ndarray, line_height: float) -> list[_Blob]:
    """Drop upright rules that cannot be a "1": much shorter or taller than the line's other
    digits, or reaching well above or below them (the sides of a form box)."""
    upright = [blob for blob in blobs if blob.height > blob.width and _is_rule(blob, labels)]
    others = [blob for blob in blobs if blob not in upright and blob.height >= FULL_HEIGHT * line_height]
    if not upright or not others:
        return blobs
    top, bottom = min(blob.top for blob in others), max(blob.bottom for blob in others)
    reach = RULE_OVERHANG * line_height
    borders = [
        rule
        for rule in upright
        if not RULE_MIN_HEIGHT * line_height <= rule.height <= RULE_MAX_HEIGHT * line_height
        or rule.top < top - reach
        or rule.bottom > bottom + reach
    ]
    return [blob for blob in blobs if blob not in borders]


def _own_ink(blob: _Blob, labels: np.ndarray) -> np.ndarray:
    return np.isin(labels[blob.top : blob.bottom, blob.left : blob.right], blob.labels)


def _line_height(blobs: list[_Blob]) -> float:
    heaviest = max(blob.mass for blob in blobs)
    return float(np.median([blob.height for blob in blobs if blob.mass >= BIG_MASS * heaviest]))


def _merge_broken(blobs: list[_Blob], line_height: float) -> list[_Blob]:
    """Join pieces stacked above each other (a broken 5, a 7's detached bar)."""
    blobs = sorted(blobs, key=lambda blob: blob.left)
    merged = True
    while merged:
        merged = False
        for first in range(len(blobs)):
            for second in range(first + 1, len(blobs)):
                if _same_digit(blobs[first], blobs[second], line_height):
                    blobs[first] = _union(blobs[first], blobs.pop(second))
                    merged = True
                    break
            if merged:
                break
    return blobs


def _same_digit(a: _Blob, b: _Blob, line_height: float) -> bool:
    if min(a.height, b.height) >= FULL_HEIGHT * line_height:
        return False  # two whole digits, however close (slanted handwriting overlaps)
    overlap = min(a.right, b.right) - max(a.left, b.left)
    return overlap >= MERGE_OVERLAP * min(a.width, b.width)


def _union(a: _Blob, b: _Blob) -> _Blob:
    return _Blob(
        a.labels + b.labels,
        min(a.top, b.top),
        max(a.bottom, b.bottom),
        min(a.left, b.left),
        max(a.right, b.right),
        a.mass + b.mass,
    )


def _looks_like_digits(blob: _Blob, line_height: float) -> bool:
    if blob.height < MIN_HEIGHT * line_height:
        return False  # decimal point, minus sign, speck, stray underline
    thin = blob.width < 0.25 * blob.height
    return not (thin and blob.height > MAX_HEIGHT * line_height)


def _expected_width(blobs: list[_Blob], line_height: float, exclude: _Blob | None = None) -> float:
    """Median width of the line's other separate digits (1s left out): printed digits are narrower
    than handwritten ones, so the line itself is the best guide, but a blob cannot vouch for itself."""
    widths = [
        blob.width
        for blob in blobs
        if blob is not exclude and blob.height >= FULL_HEIGHT * line_height and 0.35 <= blob.width / blob.height <= 1.3
    ]
    return float(np.median(widths)) if widths else DIGIT_ASPECT * line_height


def _cut(blob: _Blob, profile: np.ndarray, count: int) -> list[_Blob]:
    """Split a run of touching digits at the columns with the least ink near even spacing."""
    if count == 1:
        return [blob]
    cuts, start = [], 0
    for remaining in range(count, 1, -1):
        step = (blob.width - start) / remaining
        cuts.append(start := _best_cut(profile, start + step, CUT_WINDOW * step))
    edges = [0, *cuts, blob.width]
    return [
        _Blob(blob.labels, blob.top, blob.bottom, blob.left + a, blob.left + b, blob.mass / count)
        for a, b in zip(edges, edges[1:])
        if b > a
    ]


def _best_cut(profile: np.ndarray, ideal: float, window: float) -> int:
    low = max(1, int(ideal - window))
    high = min(len(profile) - 1, int(ideal + window) + 1)
    if high <= low:
        return int(np.clip(round(ideal), 1, len(profile) - 1))
    columns = np.arange(low, high)
    # The thinnest column wins; the distance term only breaks near-ties towards the even spot.
    cost = profile[low:high] + 0.1 * profile.max() * ((columns - ideal) / max(window, 1.0)) ** 2
    return int(columns[np.argmin(cost)])


def _crop(ink: np.ndarray, labels: np.ndarray, blob: _Blob, factor: int, size: tuple[int, int]) -> DigitCrop | None:
    top, left = max(0, blob.top - 1), blob.left
    window = (slice(top, blob.bottom + 1), slice(left, blob.right))
    region = labels[window]
    own = np.isin(region, blob.labels)
    # The faint anti-aliased rim around the strokes belongs to the digit, the neighbours' ink does not.
    keep = ndimage.binary_dilation(own, structure=np.ones((3, 3))) & ((region == 0) | own)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    if rows.size == 0:
        return None
    digit = (ink[window] * keep)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    margin = max(2, digit.shape[0] // 8)
    picture = Image.fromarray((np.pad(digit, margin) * 255).round().astype(np.uint8), mode="L")
    width, height = size
    box = (
        min(width, blob.left * factor),
        min(height, blob.top * factor),
        min(width, blob.right * factor),
        min(height, blob.bottom * factor),
    )
    return DigitCrop(box=box, image=picture)

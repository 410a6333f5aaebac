"""Pictures that are not one whole digit: two touching digits, pieces of a wrong cut, whole numbers.

A network that has only ever seen whole digits calls half a 0 a confident "1" and two touching
digits a confident "8"; trained on these pictures under the label NOT_A_DIGIT it learns to say so.
`auto` mode relies on that: a picture the digit network does not take for one digit goes to the
line reader.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from dataset import degrade, handwritten, lines, printed
from ml.inference import DIGITS

NOT_A_DIGIT = DIGITS  # the eleventh output, after the ten digits
MIN_PIECE_ASPECT = 0.35  # thinner fragments look like a "1" (and a "1" is one): not used
KINDS = ("pair", "overcut", "fragment")
KIND_SHARES = (0.35, 0.4, 0.25)


def side_by_side(rng: np.random.Generator, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Two ink masks on one line, touching or nearly so -> (strip, end of left ink, start of right ink)."""
    height = max(left.shape[0], right.shape[0])
    gap = int(round(rng.uniform(-0.12, 0.06) * height))
    width = left.shape[1] + right.shape[1] + gap
    strip = np.zeros((height, max(width, left.shape[1], right.shape[1])), dtype=np.float32)
    for mask, x in ((left, 0), (right, max(0, left.shape[1] + gap))):
        top = (height - mask.shape[0]) // 2 + int(rng.integers(-1, 2))
        top = int(np.clip(top, 0, height - mask.shape[0]))
        region = strip[top : top + mask.shape[0], x : x + mask.shape[1]]
        np.maximum(region, mask[:, : region.shape[1]], out=region)
    return strip, left.shape[1], max(0, left.shape[1] + gap)


def not_digit_mask(rng: np.random.Generator, left: np.ndarray, right: np.ndarray) -> np.ndarray | None:
    """One wrong piece of the pair (left, right), or None when the draw gave a piece too like a digit."""
    strip, left_end, right_start = side_by_side(rng, left, right)
    kind = KINDS[rng.choice(len(KINDS), p=KIND_SHARES)]
    if kind == "pair":
        return strip
    if kind == "overcut":  # the left digit and a good part of the right one
        stop = right_start + int(rng.uniform(0.3, 0.7) * right.shape[1])
        return _piece(strip, 0, stop, of=(right_start, strip.shape[1]), shares=(0.2, 1.0))
    # fragment: a part of one digit only, from its left or its right
    mask = left if rng.random() < 0.5 else right
    share = rng.uniform(0.3, 0.65)
    cut = int(round(share * mask.shape[1]))
    start, stop = (0, cut) if rng.random() < 0.5 else (mask.shape[1] - cut, mask.shape[1])
    return _piece(mask, start, stop, of=(0, mask.shape[1]), shares=(0.15, 0.5))


def _piece(
    mask: np.ndarray, start: int, stop: int, *, of: tuple[int, int], shares: tuple[float, float]
) -> np.ndarray | None:
    """Columns [start, stop) of mask, if the piece is not thin and takes a share within `shares`
    of the ink in columns `of` (one digit's): a neighbour's tip alone, or most of a digit, would
    still read as that digit."""
    piece = mask[:, start:stop]
    if piece.max() < 0.3:
        return None
    low, high = of
    taken = mask[:, max(low, start) : min(high, stop)].sum() / max(mask[:, low:high].sum(), 1e-6)
    if not shares[0] <= taken <= shares[1]:
        return None
    piece = degrade.crop_to_ink(piece)
    return piece if piece.shape[1] >= MIN_PIECE_ASPECT * piece.shape[0] else None


def as_picture(rng: np.random.Generator, piece: np.ndarray) -> Image.Image:
    """Mostly as the reader passes a cut piece on (its ink, bright on black); sometimes degraded,
    as an upload of two digits in `digit` mode would be."""
    if rng.random() < 0.7:
        return handwritten.plain_picture(np.pad(piece, max(2, piece.shape[0] // 8)))
    framed, pads = degrade.add_margins(rng, piece)
    return degrade.degrade(rng, framed, pads, piece.shape[0], degrade.random_glyph_height(rng, 12, 160))


def random_handwritten_not_digit(rng: np.random.Generator, images: np.ndarray) -> Image.Image:
    """From two of `images` (0..255, as MNIST stores them)."""
    while True:
        pair = rng.choice(len(images), 2, replace=False)
        left, right = (degrade.crop_to_ink(images[index] / 255.0) for index in pair)
        piece = not_digit_mask(rng, left, right)
        if piece is not None:
            return as_picture(rng, piece)


def random_printed_not_digit(rng: np.random.Generator, font_paths: list[str]) -> Image.Image:
    while True:
        path = font_paths[rng.integers(len(font_paths))]
        size = int(printed.RENDER_SIZES[2 + rng.integers(len(printed.RENDER_SIZES) - 2)])
        left, right = (printed.render_glyph(path, size, int(digit)) for digit in rng.integers(0, 10, 2))
        piece = not_digit_mask(rng, left, right)
        if piece is not None:
            return as_picture(rng, piece)


def random_number(rng: np.random.Generator) -> Image.Image:
    """A line of two or more characters in any of the line reader's styles."""
    while True:
        picture, text = lines.random_line(rng)
        if len(text) >= 2:
            return picture

"""The copied real captures: their split, and the augmented copies training draws from them."""

import numpy as np
from PIL import Image

from dataset import real
from ml.preprocess import open_image, to_line_input


def test_the_parts_split_every_capture_once_by_runs_of_frames():
    parts = {part: real.labelled_files("lcd_7seg_digit", part) for part in real.PARTS}
    names = [{path.name for path, _ in files} for files in parts.values()]
    assert sum(len(part) for part in names) == len(set().union(*names)) == 1975
    assert [len(files) for files in parts.values()] == [1188, 396, 391]
    assert {label for _, label in parts["test"]} == set(range(10))


def test_no_test_frame_sits_between_two_training_frames():
    """Neighbouring frames are near-duplicates: a test frame's neighbours in frame order are not trained on
    (except at the one boundary of each digit's test run)."""
    parts = {path.name: part for part in real.PARTS for path, _ in real.labelled_files("lcd_7seg_digit", part)}
    for digit in range(10):
        in_order = [path.name for path, label in real.labelled_files("lcd_7seg_digit", "test") if label == digit]
        assert len(in_order) >= 35
    changes = 0
    files = sorted(parts)  # neutral names follow the source order
    for before, after in zip(files, files[1:]):
        changes += parts[before] != parts[after]
    assert changes <= 3 * 10  # per digit: train -> validation -> test -> next digit's train


def test_an_augmented_capture_differs_and_keeps_a_plausible_size():
    path, _ = real.labelled_files("lcd_7seg_digit", "train")[0]
    picture = real.open_picture(path)
    rng = np.random.default_rng(0)
    copies = [real.augmented_capture(rng, picture) for _ in range(5)]
    assert len({copy.tobytes() for copy in copies}) == 5
    for copy in copies:
        assert 10 <= copy.width <= 130 and 10 <= copy.height <= 130


def test_training_sees_a_transparent_captcha_as_the_service_does():
    """The captchas' black ground is transparent: `convert("RGB")` shows the colour stored under it, the reader
    puts it on a backdrop of its own; training must read the picture the reader's way."""
    path, _ = real.labelled_lines("captcha_4digit", "train")[0]
    as_uploaded = to_line_input(open_image(path.read_bytes()))
    assert np.abs(to_line_input(real.open_picture(path)) - as_uploaded).max() < 0.05
    with Image.open(path) as image:
        assert np.abs(to_line_input(image.convert("RGB")) - as_uploaded).max() > 0.2

import numpy as np
from PIL import Image
from scipy import ndimage

from dataset import degrade, fonts, handwritten, not_digits, printed
from dataset.build import Task, not_digit_tasks, printed_tasks, run_task


def test_fonts_come_only_from_the_allowed_packages():
    families = fonts.discover_families()
    assert len(families) >= 15
    allowed_files = {
        path
        for package in fonts.FONT_PACKAGES
        for dependency in fonts.packages_with_dependencies(package)
        for path in fonts.package_files(dependency)
    }
    for paths in families.values():
        assert set(paths) <= allowed_files
    assert not any("dejavu-extra" in path or "ExtraLight" in path for paths in families.values() for path in paths)
    assert not set(families) & fonts.SYMBOL_FAMILIES


def test_held_out_families_are_every_fifth_and_disjoint():
    train, held_out = fonts.split_families()
    names = sorted(fonts.discover_families())
    assert held_out == names[4::5]
    assert not set(train) & set(held_out)
    assert set(train) | set(held_out) == set(names)


def test_mnist_validation_part_is_fixed_and_disjoint():
    first, second = handwritten.mnist_split(), handwritten.mnist_split()
    assert len(first["validation"][0]) == handwritten.MNIST_VALIDATION_SIZE
    assert np.array_equal(first["validation"][0], second["validation"][0])
    train_rows = {image.tobytes() for image in first["train"][0]}
    shared = sum(image.tobytes() in train_rows for image in first["validation"][0])
    assert shared == 0


def test_mnist_path_can_be_overridden(monkeypatch, tmp_path):
    target = tmp_path / "mnist.npz"
    np.savez(target, images=np.zeros((3, 28, 28), np.uint8), labels=np.arange(3, dtype=np.uint8))
    monkeypatch.setenv("MNIST_NPZ", str(target))
    images, labels = handwritten.load_mnist()
    assert images.shape == (3, 28, 28) and list(labels) == [0, 1, 2]


def test_tasks_are_reproducible_from_the_seed():
    _, held_out = fonts.split_families()
    task = printed_tasks(seed=7, purpose=1, count=20, font_paths=fonts.font_paths(held_out))[0]
    first, second = run_task(task), run_task(task)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    other = run_task(Task(task.kind, (8, 1, 0), task.labels, task.source, fonts=task.fonts))
    assert not np.array_equal(first[0], other[0])
    assert first[0].dtype == np.uint8 and first[0].shape[1:] == (28, 28)
    assert set(first[2]) == {"printed"}


def test_printed_digit_is_a_picture():
    rng = np.random.default_rng(0)
    paths = fonts.font_paths(fonts.split_families()[0])
    for digit in range(10):
        image = printed.random_printed_digit(rng, paths, digit)
        assert isinstance(image, Image.Image) and image.mode in ("L", "RGB", "1")


def test_elastic_distortion_keeps_shape_and_moves_ink():
    rng = np.random.default_rng(0)
    mask = np.zeros((32, 32), np.float32)
    mask[8:24, 14:18] = 1
    distorted = degrade.elastic_distortion(rng, mask, alpha=20, sigma=4)
    assert distorted.shape == mask.shape
    assert not np.allclose(distorted, mask)
    assert abs(distorted.sum() - mask.sum()) < 0.3 * mask.sum()


def test_small_digits_are_upscaled_masks():
    masks, labels = handwritten.load_small_digits()
    assert masks.shape == (1797, 32, 32) and 0 <= masks.min() and masks.max() <= 1
    assert set(labels) == set(range(10))


def test_not_a_digit_pieces_are_labelled_and_reproducible():
    _, held_out = fonts.split_families()
    images = handwritten.mnist_split()["validation"][0][:50]
    tasks = not_digit_tasks(seed=7, purpose=1, count=40, font_paths=fonts.font_paths(held_out), images=images)
    assert {task.kind for task in tasks} == {"not_digit_printed", "not_digit_handwritten", "not_digit_number"}
    for task in tasks:
        first, second = run_task(task), run_task(task)
        assert np.array_equal(first[0], second[0])
        assert set(first[1]) == {not_digits.NOT_A_DIGIT} and len(first[1]) == len(task.labels)
    assert sum(len(task.labels) for task in tasks) == 20 + 20 + 10


def test_a_wrong_piece_is_two_digits_or_part_of_one_never_a_thin_stroke():
    rng = np.random.default_rng(0)
    zero = degrade.crop_to_ink(printed.render_glyph(fonts.font_paths(["DejaVu Sans"])[0], 64, 0))
    for _ in range(50):
        piece = not_digits.not_digit_mask(rng, zero, zero)
        if piece is None:
            continue
        assert piece.shape[1] >= not_digits.MIN_PIECE_ASPECT * piece.shape[0]
        is_pair = piece.shape[1] > 1.5 * zero.shape[1]
        is_part = piece.shape[1] < 0.75 * zero.shape[1]
        is_overcut = zero.shape[1] < piece.shape[1] < 2 * zero.shape[1]
        assert is_pair or is_part or is_overcut


def _measured_legibility(picture: Image.Image, mask: np.ndarray) -> float:
    """Independent of the generator's bookkeeping: the strokes' contrast over the paper's spread around
    its lighting plane, read off the picture."""
    grey = np.asarray(picture.convert("L"), dtype=np.float64)
    rows, cols = np.indices(grey.shape)
    design = np.stack([np.ones(grey.size), rows.ravel(), cols.ravel()], axis=1)
    is_paper = ~ndimage.binary_dilation(mask > 0, iterations=3).ravel()
    plane = design @ np.linalg.lstsq(design[is_paper], grey.ravel()[is_paper], rcond=None)[0]
    residual = grey.ravel() - plane
    spread = 1.4826 * np.median(np.abs(residual[is_paper]))
    return abs(float(np.median(residual[mask.ravel() > 0.9]))) / max(spread, 1.0)


def test_degradation_weakens_until_a_hairline_digit_stays_legible():
    rng = np.random.default_rng(0)
    mask = np.zeros((48, 36), np.float32)
    mask[8:40, 17:19] = 1  # a thin "1"
    background, ink = np.array([200.0, 200.0, 200.0]), np.array([110.0, 110.0, 110.0])
    full_strength = [
        _measured_legibility(
            degrade.photograph(rng, mask, background, ink, scale=1.0, glyph_height=32, strength=1.0).image, mask
        )
        for _ in range(300)
    ]
    legible = [degrade.legible_photograph(rng, mask, background, ink, scale=1.0, glyph_height=32) for _ in range(300)]
    assert min(full_strength) < 2.0  # the noise alone can drown such strokes ...
    assert min(photo.legibility for photo in legible) >= degrade.MIN_LEGIBILITY
    assert min(_measured_legibility(photo.image, mask) for photo in legible) >= 2.5  # ... but never does


def _clockwise_lean(mask: np.ndarray) -> float:
    """Degrees a vertical bar leans clockwise (its top to the right), from the ink's moments."""
    rows, cols = np.nonzero(mask > 0.5)
    covariance = np.cov(np.stack([rows, cols]).astype(float))
    return float(np.degrees(-0.5 * np.arctan2(2 * covariance[0, 1], covariance[0, 0] - covariance[1, 1])))


def test_a_capped_lean_holds_for_rotation_and_shear_together():
    bar = np.pad(np.ones((60, 4), np.float32), 10)
    free, capped = [], []
    for seed in range(200):
        free.append(_clockwise_lean(degrade.random_affine(np.random.default_rng(seed), bar)))
        capped.append(_clockwise_lean(degrade.random_affine(np.random.default_rng(seed), bar, max_lean=3.0)))
    assert max(free) > 15  # rotation and shear add up
    assert max(capped) < 3.5 and min(capped) == min(free)  # only the clockwise side is cut


def _glyph(font_file: str, digit: int) -> np.ndarray:
    path = next(path for path in fonts.font_paths(fonts.split_families()[1]) if path.endswith(font_file))
    return np.pad(printed.render_glyph(path, 90, digit), 8)


def test_topology_counts_pieces_of_ink_and_holes():
    light = "NimbusMonoPS-Regular.otf"
    assert degrade.topology(_glyph(light, 1)) == (1, 0)
    assert degrade.topology(_glyph(light, 0)) == (1, 1)
    assert degrade.topology(_glyph(light, 8)) == (1, 2)
    assert degrade.topology(np.pad(np.ones((5, 5)), 2) - np.pad(np.ones((1, 5)), ((4, 4), (2, 2)))) == (2, 0)


def test_stroke_width_changes_never_turn_a_digit_into_another_shape():
    """A light 4 loses its crossbar to a thick erosion, a bold 6 closes into a 0 under a thick
    dilation: those draws leave the glyph as it was, the others still thin or thicken it."""
    for glyph in (_glyph("NimbusMonoPS-Regular.otf", 4), _glyph("NimbusMonoPS-Bold.otf", 6)):
        thickest = ndimage.grey_dilation(glyph, size=(13, 13)), ndimage.grey_erosion(glyph, size=(13, 13))
        assert any(degrade.topology(changed) != degrade.topology(glyph) for changed in thickest)
        results = [degrade.change_stroke_width(np.random.default_rng(seed), glyph, 110) for seed in range(60)]
        assert all(degrade.topology(result) == degrade.topology(glyph) for result in results)
        assert sum(not np.array_equal(result, glyph) for result in results) >= 10


def test_some_crops_are_tight_touching_or_cutting_the_glyph_but_never_by_more_than_a_sliver():
    glyph = np.ones((40, 24), np.float32)
    rng = np.random.default_rng(3)
    for _ in range(50):
        canvas, pads = degrade.add_margins(rng, glyph, tight_crops=1.0)
        ink_rows, ink_cols = np.flatnonzero(canvas.max(axis=1)), np.flatnonzero(canvas.max(axis=0))
        assert (
            len(ink_rows) >= 40 * (1 - 2 * degrade.MAX_CUT) - 1 and len(ink_cols) >= 24 * (1 - 2 * degrade.MAX_CUT) - 1
        )
        assert max(pads) <= 0.06 * 40
    assert min(degrade.add_margins(rng, glyph, tight_crops=0.0)[1]) >= 1, "the others keep a margin"


def test_small_scans_fill_a_tiny_cell():
    mask = degrade.crop_to_ink(printed.render_glyph(fonts.font_paths(["DejaVu Sans"])[0], 64, 5))
    picture = handwritten.scanned_small(np.random.default_rng(0), mask)
    assert max(picture.size) <= 20 and picture.size[0] == picture.size[1]
    assert float(np.asarray(picture).std()) > 30
    assert handwritten.scanned_small(np.random.default_rng(0), mask, side=16).size == (16, 16)

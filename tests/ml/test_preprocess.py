import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageFont

from ml.preprocess import (
    FIT_SIZE,
    INPUT_SIZE,
    MIN_INK_OVER_GRAIN,
    ImageError,
    _background_plane,
    _border_noise,
    _border_samples,
    _distance_from,
    _quantile,
    _smoothed,
    _smoothed_box,
    _within_grain,
    open_image,
    prepare,
    to_network_input,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def digit_mask(digit: str = "7", size: tuple[int, int] = (60, 80)) -> Image.Image:
    """White digit on black, as an L mask."""
    mask = Image.new("L", size, 0)
    font = ImageFont.truetype(FONT, int(size[1] * 0.7))
    ImageDraw.Draw(mask).text((size[0] / 2, size[1] / 2), digit, fill=255, font=font, anchor="mm")
    return mask


def dark_on_light(digit: str = "7", size=(60, 80)) -> Image.Image:
    return Image.eval(digit_mask(digit, size), lambda value: 255 - value)


def encode(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return to_network_input(dark_on_light())


def check_output(output: np.ndarray) -> None:
    assert output.shape == (INPUT_SIZE, INPUT_SIZE)
    assert output.dtype == np.float32
    assert 0.0 <= output.min() and output.max() <= 1.0
    assert output.max() > 0.9
    # the picture trimmed to its ink (and a small margin) fills FIT_SIZE pixels
    rows, cols = np.nonzero(output > 0.05)
    assert FIT_SIZE - 5 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= FIT_SIZE


def rgba_on_transparent(ink: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGBA", (60, 80), (0, 0, 0, 0))
    image.putalpha(digit_mask())
    colour = Image.new("RGB", (60, 80), ink)
    colour.putalpha(digit_mask())
    return colour


MODES = {
    "1": lambda: dark_on_light().convert("1"),
    "L": lambda: dark_on_light(),
    "LA": lambda: dark_on_light().convert("LA"),
    "P with transparency": lambda: _palette_with_transparency(),
    "RGB": lambda: Image.merge("RGB", [dark_on_light()] * 3),
    "RGBA opaque": lambda: Image.merge("RGB", [dark_on_light()] * 3).convert("RGBA"),
    "RGBA dark ink on transparent": lambda: rgba_on_transparent((10, 10, 10)),
    "RGBA light ink on transparent": lambda: rgba_on_transparent((250, 250, 250)),
    "CMYK": lambda: Image.merge("RGB", [dark_on_light()] * 3).convert("CMYK"),
    "I;16": lambda: Image.fromarray(np.asarray(dark_on_light()).astype(np.uint16) * 257),
    "I": lambda: dark_on_light().convert("I"),
    "F": lambda: dark_on_light().convert("F"),
    "coloured": lambda: _coloured(),
}


def _palette_with_transparency() -> Image.Image:
    image = Image.new("P", (60, 80), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(1, mask=digit_mask())
    image.info["transparency"] = 0
    return image


def _coloured() -> Image.Image:
    paper = Image.new("RGB", (60, 80), (40, 90, 200))
    paper.paste((250, 230, 20), mask=digit_mask())
    return paper


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_gives_the_same_digit(mode, reference):
    output = to_network_input(MODES[mode]())
    check_output(output)
    assert similarity(output, reference) > 0.9


@pytest.mark.parametrize("mode", ["P with transparency", "RGBA light ink on transparent", "I;16", "1"])
def test_modes_survive_a_png_round_trip(mode, reference):
    output = prepare(encode(MODES[mode]()))
    assert similarity(output, reference) > 0.9


def test_inverted_polarity_gives_the_same_input(reference):
    assert similarity(to_network_input(digit_mask()), reference) > 0.98


def test_tiny_8x8_image(reference):
    tiny = dark_on_light(size=(60, 80)).resize((8, 8), Image.Resampling.BOX)
    output = to_network_input(tiny)
    assert output.shape == (INPUT_SIZE, INPUT_SIZE) and output.max() > 0.9
    assert similarity(output, reference) > 0.6


def test_large_image_is_prepared(reference):
    check_output(to_network_input(dark_on_light(size=(3000, 2000))))


def test_exif_rotation_is_applied():
    upright = dark_on_light("1", size=(120, 160)).convert("RGB")
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned left...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and tagged "rotate 90 clockwise to display"
    from_exif = prepare(encode(sideways, "JPEG", quality=95, exif=exif))
    from_upright = prepare(encode(upright, "JPEG", quality=95))
    assert np.abs(from_exif - from_upright).mean() < 0.03
    assert open_image(encode(sideways, "JPEG", exif=exif)).size == upright.size


def test_animated_gif_uses_first_frame():
    frames = [dark_on_light("3"), dark_on_light("8")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert similarity(prepare(data), to_network_input(frames[0])) > 0.98


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (50, 50), 255),
        Image.new("L", (50, 50), 0),
        Image.new("RGB", (50, 50), (120, 200, 30)),
        Image.new("RGBA", (50, 50), (0, 0, 0, 0)),
        Image.new("L", (1, 1), 0),
        Image.new("L", (7, 11), 128),
    ],
    ids=["white", "black", "uniform colour", "fully transparent", "one pixel", "a few pixels, uniform"],
)
def test_blank_images_are_rejected(image):
    with pytest.raises(ImageError, match="blank image: no ink found"):
        prepare(encode(image))


@pytest.mark.parametrize("digit", "03468")
def test_a_digit_cut_tight_a_few_pixels_wide_is_not_refused(digit):
    """At 7 x 11 pixels its strokes' edges make most of the steps between neighbours, which the grain
    check (MIN_INK_OVER_GRAIN) took for noise: these five digits were refused as blank."""
    tiny = dark_on_light(digit).crop(digit_mask(digit).getbbox()).resize((7, 11), Image.LANCZOS)
    network_input = prepare(encode(tiny))
    assert network_input.shape == (INPUT_SIZE, INPUT_SIZE) and network_input.max() == 1.0


def test_faint_jpeg_noise_is_blank():
    grey = Image.new("L", (64, 64), 200)
    with pytest.raises(ImageError, match="blank"):
        prepare(encode(grey, "JPEG", quality=10))


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_garbage_bytes_are_rejected(data):
    with pytest.raises(ImageError, match="not an image"):
        open_image(data)


def test_truncated_image_is_rejected():
    data = encode(dark_on_light(size=(300, 300)).convert("RGB"), "JPEG")
    with pytest.raises(ImageError):
        prepare(data[: len(data) // 2])


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size (a decompression bomb never gets further)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


def test_pixel_bomb_is_rejected_without_decoding(monkeypatch):
    def refuse_to_decode(self):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_decode)
    with pytest.raises(ImageError, match=r"image too large: 400000000 pixels \(limit 25000000\)"):
        open_image(png_header_claiming(20000, 20000))
    with pytest.raises(ImageError, match="image too large"):
        open_image(png_header_claiming(50000, 50000))  # above Pillow's own bomb limit too
    with pytest.raises(ImageError, match=r"\(limit 1000\)"):
        open_image(encode(dark_on_light()), max_pixels=1000)


def test_a_picture_of_a_side_past_the_limit_is_refused_without_decoding(monkeypatch):
    """1 x 25,000,000 is within the pixel limit, but Pillow's per-row pointers took 431 MB to open it."""
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(ImageError, match=r"image too large: 1 x 25000000 pixels \(at most 32768 a side\)"):
        open_image(png_header_claiming(1, 25_000_000))
    with pytest.raises(ImageError, match="a side"):
        open_image(png_header_claiming(40_000, 2))


def test_specks_do_not_move_the_crop(reference):
    image = dark_on_light(size=(200, 200))
    speckled = image.copy()
    for x, y in [(5, 5), (190, 12), (10, 185)]:
        speckled.putpixel((x, y), 0)
    assert similarity(to_network_input(speckled), to_network_input(image)) > 0.98


def test_a_lone_one_is_kept_beside_a_few_specks():
    one = dark_on_light("1", size=(120, 160))
    for x, y in [(10, 10), (100, 150), (15, 140)]:
        ImageDraw.Draw(one).ellipse((x, y, x + 3, y + 3), fill=0)
    check_output(to_network_input(one))


def test_a_seven_broken_at_its_joint_keeps_its_bar():
    def seven(stem_top: int) -> Image.Image:
        image = Image.new("L", (160, 160), 255)
        draw = ImageDraw.Draw(image)
        draw.rectangle((30, 20, 100, 28), fill=0)
        draw.line((96, stem_top, 60, 140), fill=0, width=8)
        return image

    broken, whole = to_network_input(seven(stem_top=40)), to_network_input(seven(stem_top=24))
    assert similarity(broken, whole) > 0.8  # 0.88: the gap only; without the bar it is a 1


def test_a_frame_around_the_digit_stays_for_the_network_to_see():
    """No rule guesses what clutter is: a display's frame reaches the network, which learnt to read past it."""
    framed = dark_on_light("5", size=(120, 160))
    ImageDraw.Draw(framed).rectangle((1, 1, 118, 158), outline=0, width=3)
    output = to_network_input(framed)
    check_output(output)
    cols = np.flatnonzero(output.max(axis=0) > 0.05)
    assert (output[:, cols[0]] > 0.3).sum() > 15 and (output[:, cols[-1]] > 0.3).sum() > 15  # the frame's sides


def test_a_digit_cut_by_the_crops_edge_keeps_every_stroke():
    whole = dark_on_light("8", size=(60, 80))
    cut = whole.crop((0, 12, 60, 68))  # the 8's top and bottom run into the edge
    output = to_network_input(cut)
    check_output(output)
    rows = np.flatnonzero(output.max(axis=1) > 0.05)
    assert output[rows[0]].max() > 0.3 and output[rows[-1]].max() > 0.3  # the cut strokes, kept to the edge


def test_an_orange_digit_on_dark_brown_keeps_its_contrast():
    """Colour distance, not grey: an orange-red digit on a dark ground next to a bright strip."""
    picture = Image.new("RGB", (60, 90), (70, 40, 20))
    picture.paste((235, 90, 20), mask=digit_mask("3", (60, 80)))
    ImageDraw.Draw(picture).rectangle((0, 84, 59, 89), fill=(240, 240, 230))
    output = to_network_input(picture)
    rows = np.flatnonzero(output.max(axis=1) > 0.4)
    assert rows.size > 12  # the digit's strokes, not only the strip


@pytest.mark.parametrize("size", [1, 2, 7, 400, 5001])
@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.995, 1.0])
def test_the_fast_quantile_is_numpys(size, q):
    values = np.random.default_rng(size).normal(size=(size, 3)).astype(np.float32)
    np.testing.assert_allclose(_quantile(values, q), np.quantile(values, q, axis=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("sigma", [0.1, 0.3, 1.2])
@pytest.mark.parametrize("shape", [(1, 1), (3, 40), (31, 200)])
def test_the_smoothing_is_scipys_gaussian_filter(sigma, shape):
    from scipy.ndimage import gaussian_filter

    values = np.random.default_rng(len(shape)).random(shape, dtype=np.float32)
    np.testing.assert_allclose(_smoothed(values, sigma), gaussian_filter(values, sigma), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "box", [(slice(0, 60), slice(0, 300)), (slice(20, 45), slice(5, 290)), (slice(1, 2), slice(150, 151))]
)
def test_smoothing_a_box_gives_the_box_of_the_smoothed_picture(box):
    values = np.random.default_rng(3).random((60, 300), dtype=np.float32)
    for sigma in (0.3, 1.2):
        np.testing.assert_array_equal(_smoothed_box(values, box, sigma), _smoothed(values, sigma)[box])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("inset", "step"), [(0, 1), (0, 3), (5, 1), (5, 2)])
def test_the_distance_from_the_background_is_the_colour_difference_s_length(channels, inset, step):
    """Computed channel by channel for speed, it must give exactly what the plain formula gives."""
    rng = np.random.default_rng(channels * 10 + inset + step)
    pixels = (rng.random((40, 90, channels)) * 255).astype(np.float32)
    plane = _background_plane(pixels, inset)
    height, width = 40 - 2 * inset, 90 - 2 * inset
    across = ((np.arange(90, dtype=np.float32) - inset) / width - 0.5)[:, None] * plane[1]
    down = ((np.arange(40, dtype=np.float32) - inset) / height - 0.5)[:, None] * plane[2]
    background = (plane[0] + across)[None, :, :] + down[:, None, :]
    expected = np.sqrt(np.square(pixels - background).sum(axis=2))
    np.testing.assert_array_equal(_distance_from(pixels, plane, inset, step), expected[::step, ::step])


@pytest.mark.parametrize("noise", [0.0, 1.0, 8.0, 40.0])
@pytest.mark.parametrize("contrast", [16.0, 30.0, 60.0, 200.0])
def test_the_grain_check_agrees_with_the_median_step(noise, contrast):
    """Its shortcut (a median is at most twice the mean) must never change the answer."""
    rng = np.random.default_rng(int(noise))
    distance = np.abs(rng.normal(0, noise, (30, 80))).astype(np.float32)
    distance[10:20, 20:60] += contrast
    median_step = np.median(np.abs(np.diff(distance, axis=1)))
    assert _within_grain(contrast, distance) == bool(contrast < MIN_INK_OVER_GRAIN * median_step)


def test_a_float_picture_with_nan_pixels_is_refused():
    values = np.full((32, 32), 0.5, dtype=np.float32)
    values[10, 10] = np.nan
    with pytest.raises(ImageError, match="not numbers"):
        open_image(encode(Image.fromarray(values, mode="F"), "TIFF"))


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (1, 7), (2, 2), (3, 40), (40, 3), (17, 33), (200, 31), (700, 1024)])
def test_the_border_noise_is_read_from_every_border_pixel_once(shape):
    values = np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
    depth = max(1, min(shape) // 16)
    border = np.zeros(shape, dtype=bool)
    border[:depth], border[-depth:], border[:, :depth], border[:, -depth:] = True, True, True, True
    assert _border_noise(values) == pytest.approx(float(np.quantile(values[border], 0.25)), abs=1e-6)


def test_what_is_kept_per_picture_size_is_a_few_hundred_samples():
    """A worker sees thousands of picture sizes: its cache must not keep a large photo's whole border."""
    samples, terms = _border_samples(2000, 2047)
    assert samples.base is None and samples.nbytes + terms.nbytes < 50_000


def jpeg_with_scans_repeated(repeats: int) -> bytes:
    """A progressive JPEG whose last scan is repeated: every decoder reads each scan again."""
    data = encode(dark_on_light("4", (120, 160)).convert("RGB"), "JPEG", progressive=True)
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    return data[:-2] + last_scan * repeats + data[-2:]


def test_a_jpeg_of_too_many_scans_is_refused_before_it_is_decoded():
    assert open_image(jpeg_with_scans_repeated(0)).size == (120, 160)
    assert to_network_input(open_image(jpeg_with_scans_repeated(50))).shape == (INPUT_SIZE, INPUT_SIZE)
    with pytest.raises(ImageError, match="corrupt image: a JPEG of 1[0-9][0-9] scans"):
        open_image(jpeg_with_scans_repeated(150))
    with pytest.raises(ImageError, match="scans"):
        open_image(io.BytesIO(jpeg_with_scans_repeated(150)))


def test_a_format_beyond_the_common_raster_ones_is_refused_unread():
    with pytest.raises(ImageError, match="not an image"):
        open_image(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n" + b"%%a\n" * 1000)


def test_a_32_bit_picture_whose_white_is_not_a_usual_level_still_shows_its_ink():
    """Scaled to 255 in float32, a white of 200,000 came out a hair over 255 and was scaled again, as 12-bit."""
    values = np.where(np.asarray(digit_mask("3")) > 127, 20_000, 200_000).astype(np.int32)
    assert to_network_input(Image.fromarray(values)).max() == pytest.approx(1.0)


@pytest.mark.parametrize("digit, background, glare", [(40, 150, 255), (230, 90, 20)])
def test_a_digits_input_of_one_polarity_leaves_out_what_stands_out_the_other_way(digit, background, glare):
    """A dark digit on a grey wheel under a bright glare bar (and a light digit on dark with a dark bar): the
    input of one polarity keeps the digit and drops the bar, which the whole input counts."""
    picture = Image.new("L", (80, 100), background)
    picture.paste(digit, mask=digit_mask("4", (60, 80)))
    ImageDraw.Draw(picture).rectangle((66, 5, 70, 95), fill=glare)
    alone = to_network_input(picture.crop((0, 0, 62, 100)))

    whole, polar = to_network_input(picture), to_network_input(picture, one_polarity=True)

    assert similarity(whole, alone) < 0.5
    assert similarity(polar, alone) > 0.99

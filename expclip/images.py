"""Reading user images: any format Pillow reads → an upright RGB ``(H, W, 3)`` uint8 array.

EXIF orientation is applied, grayscale and palette images become RGB, transparency is laid over
white, animated images give their first frame, and images larger than :data:`MAX_SIDE` pixels on
their long side are scaled down. Anything else is an :class:`ImageError` with one sentence.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

MAX_SIDE = 1920          # long side after downscaling; landmarks need no more
MAX_PIXELS = 100_000_000  # refuse before decoding anything larger (a decompression bomb or a scan)
FORMATS = "JPEG, PNG, WebP, GIF, BMP or TIFF"


class ImageError(ValueError):
    """An input that is not a readable image."""


ImageInput = str | Path | bytes | np.ndarray | Image.Image


def _open(source: ImageInput, name: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            if np.issubdtype(array.dtype, np.floating) and array.size and 0.0 <= array.min() and array.max() <= 1.0:
                array = (array * 255).round().astype(np.uint8)
            else:
                raise ImageError(f"{name} is a {array.dtype} array; give uint8 pixels (0–255) or floats in [0, 1].")
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise ImageError(f"{name} has shape {array.shape}; give (H, W), (H, W, 3) or (H, W, 4) pixels.")
        return Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    if isinstance(source, bytes):
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        stream = Path(source)
        if not stream.is_file():
            raise ImageError(f"{stream} does not exist or is not a file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(f"{name} is {image.width}x{image.height} pixels; images up to "
                             f"{MAX_PIXELS // 1_000_000} megapixels are accepted.")
        image.load()
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image; give a {FORMATS} file.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is too large to open; images up to {MAX_PIXELS // 1_000_000} megapixels "
                         "are accepted.") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded ({error}).") from None
    return image


def load_image(source: ImageInput, name: str | None = None) -> np.ndarray:
    """An image file, its bytes, a PIL image or an array → upright RGB ``(H, W, 3)`` uint8.

    Args:
        source: path, encoded bytes, ``PIL.Image`` or array (``(H, W)``, ``(H, W, 3|4)``).
        name: how errors refer to the input (default: the path, or "the image").
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
    image = _open(source, name)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    if min(image.size) < 16:
        raise ImageError(f"{name} is only {image.width}x{image.height} pixels; give an image at least 16 pixels "
                         "on each side.")
    return np.asarray(image, dtype=np.uint8).copy()


FACE_VIEW = 3.0  # a face under 1/FACE_VIEW of the picture's shorter side is shown in a square FACE_VIEW faces wide


def draw_face(image: np.ndarray, box: tuple[float, float, float, float], points: np.ndarray) -> np.ndarray:
    """The photo ``(H, W, 3)`` with the face ``box`` (x0, y0, x1, y1) and its landmarks ``(N, 2|3)`` drawn on it: the
    whole photo, or, when the face is small in it (a person far from the camera), a square of :data:`FACE_VIEW`
    face widths around the face, so that the face can be seen."""
    x0, y0, x1, y1 = box
    height, width = image.shape[:2]
    side = round(FACE_VIEW * max(x1 - x0, y1 - y0))
    left = top = 0
    if side < min(height, width):
        left = int(np.clip(round((x0 + x1 - side) / 2), 0, width - side))
        top = int(np.clip(round((y0 + y1 - side) / 2), 0, height - side))
        image = image[top:top + side, left:left + side]
        box = (x0 - left, y0 - top, x1 - left, y1 - top)
    picture = Image.fromarray(np.ascontiguousarray(image)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    scale = max(picture.size) / 512
    draw.rectangle(list(box), outline=(0, 200, 80), width=max(2, int(3 * scale)))
    r = max(1.0, 1.2 * scale)
    for x, y in np.asarray(points)[:, :2] - np.array([left, top]):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 60, 60))
    return np.asarray(picture)


# A face whose luminance (0-255) spans less than this between its 2nd and 98th percentiles, or whose median is
# under DARK_MEDIAN, is read from a copy with its exposure evened out (:func:`evened_exposure`). The Yale photos as
# taken span 185-249 with medians 73-115; renders of the head, lit evenly, span about 100 (median 208) and are left
# as MediaPipe saw them when the rig's correspondence and eye calibration were measured. Glare is left as it is:
# what a bright face lost to clipping cannot be stretched back (evening it measured worse, MAE 0.008 → 0.012).
NARROW_SPAN = 80.0
DARK_MEDIAN = 70.0


def _face_luminance(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Rec. 601 luminance (0-255) of the pixels inside ``box`` (x0, y0, x1, y1) of an RGB image ``(H, W, 3)``."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    region = image[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)].astype(np.float32)
    return region @ np.array([0.299, 0.587, 0.114], np.float32)


def poorly_exposed(image: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether the face in ``box`` is dark or flat enough that MediaPipe misplaces its points (the Yale photos
    darkened to a tenth: 12 of 30 read as labelled, against 23 as taken; ``benchmarks.bench_exposure``)."""
    luminance = _face_luminance(image, box)
    if luminance.size == 0:
        return False
    low, high = np.percentile(luminance, [2, 98])
    median = float(np.median(luminance))
    return bool(high - low < NARROW_SPAN or median < DARK_MEDIAN)


def evened_exposure(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The RGB image ``(H, W, 3)`` uint8 with the face in ``box`` stretched to the full range (its 2nd to 98th
    percentile of luminance to 0-255) and brightened or darkened by a gamma that puts its median at mid-grey."""
    luminance = _face_luminance(image, box)
    low, high = np.percentile(luminance, [2, 98])
    span = max(float(high - low), 1.0)
    median = float(np.clip(np.median((luminance - low) / span), 0.05, 0.95))
    stretched = np.clip((image.astype(np.float32) - low) / span, 0.0, 1.0)
    return np.round(255.0 * stretched ** (np.log(0.5) / np.log(median))).astype(np.uint8)

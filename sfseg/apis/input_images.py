"""Reading user images for inference: decoded in full, size-checked.

A header-only read accepts truncated files that then fail (or give grey
stripes) inside the pipeline; an image smaller than the model's output
stride has no feature map to predict from, and mmseg's visualiser fails
on it with an ``IndexError``.
"""

import mmcv
from PIL import Image

from sfseg.utils.user_errors import SFSegUserError

# Every sfseg segmentor has output stride 32 (ResNet-D d32, STDC, DFNet).
MIN_SIDE = 32


class InputImageError(SFSegUserError, ValueError):
    """An input image cannot be segmented; the message names the file."""


def read_image(path, max_pixels=None):
    """``H x W x 3`` BGR uint8 of ``path``, as mmseg's
    ``LoadImageFromFile`` decodes it (OpenCV), after a full decode check.

    ``max_pixels`` refuses larger images from the size in the file's
    header, before anything is decoded.
    """
    try:
        with Image.open(path) as img:
            width, height = img.size  # the header only
            if max_pixels and width * height > max_pixels:
                raise InputImageError(
                    f'{path}: {width}x{height} is '
                    f'{width * height / 1e6:.1f} megapixels, over the limit '
                    f'of {max_pixels / 1e6:.1f} (--max-pixels; 0 lifts it); '
                    'not decoded'
                )
            img.load()  # decodes every byte: truncated files raise here
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise InputImageError(f'{path}: unreadable image ({err})') from None
    img = mmcv.imread(path, flag='color')
    if img is None:
        raise InputImageError(f'{path}: unreadable image (OpenCV)')
    return img


def check_min_size(img, path, min_side=MIN_SIDE):
    """Raise unless both sides of ``img`` are at least ``min_side``."""
    h, w = img.shape[:2]
    if min(h, w) < min_side:
        raise InputImageError(
            f'{path}: image is {w}x{h} pixels; the model needs at least '
            f'{min_side}x{min_side} (its output stride), so resize or pad it'
        )


def fit_max_size(img, max_size):
    """``img`` scaled down (area filter) so its long side is at most
    ``max_size``; unchanged when it already fits or ``max_size`` is 0."""
    h, w = img.shape[:2]
    if not max_size or max(h, w) <= max_size:
        return img
    scale = max_size / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return mmcv.imresize(img, size, interpolation='area')

"""Reading user images for inference: decoded in full, size-checked.

A header-only read accepts truncated files that then fail (or give grey
stripes) inside the pipeline; an image smaller than the model's output
stride has no feature map to predict from, and mmseg's visualiser fails
on it with an ``IndexError``.
"""

import math

import mmcv
import numpy as np
from mmengine.logging import print_log
from PIL import Image, ImageOps

from sfseg.utils.user_errors import SFSegUserError

# Every sfseg segmentor has output stride 32 (ResNet-D d32, STDC, DFNet).
MIN_SIDE = 32
OVERSIZE = ('refuse', 'shrink')
# JPEG decoders can scale by 1/2, 1/4 or 1/8 inside the inverse DCT
JPEG_SCALES = (8, 4, 2)


class InputImageError(SFSegUserError, ValueError):
    """An input image cannot be segmented; the message names the file."""


def read_image(path, max_pixels=None, oversize='refuse'):
    """``H x W x 3`` BGR uint8 of ``path``, as mmseg's
    ``LoadImageFromFile`` decodes it (OpenCV), after a full decode check.

    An image over ``max_pixels`` (read from the file's header, before
    anything is decoded) is refused (``oversize='refuse'``) or read at
    most ``max_pixels`` large (``'shrink'``, see :func:`read_shrunk`).
    """
    if oversize not in OVERSIZE:
        raise ValueError(f'oversize must be one of {OVERSIZE}: {oversize!r}')
    try:
        with Image.open(path) as img:
            width, height = img.size  # the header only
            if max_pixels and width * height > max_pixels:
                if oversize == 'shrink':
                    return read_shrunk(img, path, max_pixels)
                raise InputImageError(
                    f'{path}: {width}x{height} is '
                    f'{width * height / 1e6:.1f} megapixels, over the limit '
                    f'of {max_pixels / 1e6:.1f} (--max-pixels; 0 lifts it, '
                    '--oversize shrink reads it smaller); not decoded'
                )
            img.load()  # decodes every byte: truncated files raise here
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise InputImageError(f'{path}: unreadable image ({err})') from None
    img = mmcv.imread(path, flag='color')
    if img is None:
        raise InputImageError(f'{path}: unreadable image (OpenCV)')
    return img


def read_shrunk(img, path, max_pixels):
    """BGR uint8 of the opened PIL image ``img`` scaled to at most
    ``max_pixels`` (area filter), oriented by its EXIF tag as OpenCV does.

    A JPEG is decoded at 1/2, 1/4 or 1/8 of its size by the decoder's DCT
    scaling (Pillow's ``draft``), the smallest that keeps at least
    ``max_pixels``, so the full-size image never exists in memory; other
    formats are decoded in full first.
    """
    width, height = img.size
    if img.format == 'JPEG':
        for scale in JPEG_SCALES:
            if (width // scale) * (height // scale) >= max_pixels:
                img.draft('RGB', (width // scale, height // scale))
                break
    decoded = img.size
    img = ImageOps.exif_transpose(img.convert('RGB'))
    factor = math.sqrt(max_pixels / (img.width * img.height))
    if factor < 1:
        size = (
            max(1, int(img.width * factor)),
            max(1, int(img.height * factor)),
        )
        img = img.resize(size, Image.Resampling.BOX)
    how = 'decoded at' if decoded != (width, height) else 'decoded in full,'
    print_log(
        f'{path}: {width}x{height} is over --max-pixels '
        f'{max_pixels / 1e6:.1f} MP: {how} {decoded[0]}x{decoded[1]}, '
        f'segmented at {img.width}x{img.height}',
        logger='current',
    )
    return np.ascontiguousarray(np.asarray(img)[..., ::-1])


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

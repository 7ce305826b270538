"""The official ``RandomSizeAndCrop`` in one step, resizing only the crop.

The official transform resizes the whole image by ``s ~ U(0.5, 2.0)``
with PIL's bicubic and then crops 1024 x 1024: at ``s = 2`` a 1024 x 2048
Cityscapes image becomes 2048 x 4096 to keep an eighth of it.
``SFRandomSizeAndCrop`` draws the same numbers as ``SFRandomRescale``
followed by ``SFCentroidCrop`` and gives the same bytes, but computes only
the window it keeps:

- PIL's resampling is separable and exact per pass: a horizontal pass into
  uint8, then a vertical pass, each a 1-D filter whose weights depend only
  on the two lengths. So the horizontal pass runs on the source rows the
  window's output rows read (rows are independent in it), and the
  vertical pass on the window's columns only. PIL's own ``box`` argument
  is not used: it rounds the box to float32 and does not reproduce the
  full resize.
- The label is resized whole with PIL's nearest (a few milliseconds) and
  cropped.
"""

import functools

import numpy as np
from mmseg.registry import TRANSFORMS
from PIL import Image

from ..class_uniform import SFCentroidCrop

# PIL filter supports (Resample.c), for the rows a window reads
_FILTERS = {
    'bilinear': (Image.BILINEAR, 1.0),
    'bicubic': (Image.BICUBIC, 2.0),
    'lanczos': (Image.LANCZOS, 3.0),
    'hamming': (Image.HAMMING, 1.0),
    'box': (Image.BOX, 0.5),
}


def _rows_read(in_size, out_size, start, stop, support):
    """Source rows ``[first, last)`` that PIL's 1-D resample of
    ``in_size`` -> ``out_size`` reads for outputs ``start .. stop - 1``
    (its bounds plus a row of margin either side)."""
    scale = in_size / out_size
    reach = support * max(scale, 1.0)
    first = int((start + 0.5) * scale - reach + 0.5) - 1
    last = int((stop - 0.5) * scale + reach + 0.5) + 1
    return max(first, 0), min(last, in_size)


def _resize_1d(arr, axis, length, resample):
    """One PIL pass: resize ``arr`` along ``axis`` (0 rows, 1 columns)."""
    size = (arr.shape[1], length) if axis == 0 else (length, arr.shape[0])
    image = Image.fromarray(np.ascontiguousarray(arr))
    return np.asarray(image.resize(size, resample))


@functools.lru_cache(maxsize=None)
def _pillow_may_go_vertical_first():
    """Whether this Pillow runs the vertical pass first when the height
    shrinks more than twice as much as the width (Pillow >= 11.?); older
    versions always start horizontally. Found by resizing a small image
    that takes that branch."""
    img = np.random.default_rng(0).integers(0, 256, (64, 8, 3), np.uint8)
    full = np.asarray(Image.fromarray(img).resize((6, 16), Image.BICUBIC))
    vertical_first = _resize_1d(
        _resize_1d(img, 0, 16, Image.BICUBIC), 1, 6, Image.BICUBIC
    )
    return bool(np.array_equal(full, vertical_first))


def _vertical_first(height, width, out_h, out_w):
    shrink_h, shrink_w = height - out_h, width - out_w
    return (
        shrink_h > 0
        and shrink_h > shrink_w * 2
        and _pillow_may_go_vertical_first()
    )


def resize_window(img, size, window, interpolation='bicubic'):
    """``window = (x0, y0, x1, y1)`` of PIL's resize of ``img`` (uint8,
    H x W [x C]) to ``size = (w, h)``: the same bytes as resizing all of
    it and cropping."""
    resample, support = _FILTERS[interpolation]
    height, width = img.shape[:2]
    out_w, out_h = size
    x0, y0, x1, y1 = window
    if (x1 - x0) * (y1 - y0) * 2 > out_w * out_h:
        # most of the output is kept: PIL's own single call is faster
        full = Image.fromarray(img).resize(size, resample)
        return np.asarray(full)[y0:y1, x0:x1]
    if _vertical_first(height, width, out_h, out_w):
        # both passes transposed: rows <-> columns
        img = np.swapaxes(img, 0, 1)
        out = _window_two_pass(
            img, (out_h, out_w), (y0, x0, y1, x1), resample, support
        )
        return np.ascontiguousarray(np.swapaxes(out, 0, 1))
    return _window_two_pass(img, size, window, resample, support)


def _window_two_pass(img, size, window, resample, support):
    """PIL's horizontal-then-vertical resize, restricted to ``window``:
    the horizontal pass on the source rows the window's output rows read,
    the vertical pass on the window's columns."""
    height, width = img.shape[:2]
    out_w, out_h = size
    x0, y0, x1, y1 = window
    r0, r1 = _rows_read(height, out_h, y0, y1, support)
    band = img[r0:r1]
    if out_w != width:
        band = _resize_1d(band, 1, out_w, resample)
    cols = band[:, x0:x1]
    if out_h == height:
        return np.ascontiguousarray(cols[y0 - r0 : y1 - r0])
    # rows the window never reads stay 0
    tall = np.zeros((height, x1 - x0) + img.shape[2:], np.uint8)
    tall[r0:r1] = cols
    return _resize_1d(tall, 0, out_h, resample)[y0:y1]


@TRANSFORMS.register_module()
class SFRandomSizeAndCrop(SFCentroidCrop):
    """The official ``RandomSizeAndCrop``: rescale by ``s ~
    U(ratio_range)`` of the own size, pad when smaller than the crop,
    crop uniformly or around a class centroid.

    Equal to ``SFRandomRescale(ratio_range)`` followed by
    ``SFCentroidCrop(crop_size)`` (same draws, same output bytes, same
    ``scale_factor``), about 2-3x faster at ``s > 1`` because only the
    window is resized (module doc).

    Args:
        crop_size (tuple[int]): ``(h, w)`` of the crop (official 1024).
        ratio_range (tuple[float]): ``(low, high)``, official (0.5, 2.0).
        interpolation (str): PIL image filter (official bicubic).
        cat_max_ratio, ignore_index, pad_val, seg_pad_val: as
            ``SFCentroidCrop``.
    """

    def __init__(
        self,
        crop_size,
        ratio_range=(0.5, 2.0),
        interpolation='bicubic',
        cat_max_ratio=1.0,
        ignore_index=255,
        pad_val=0,
        seg_pad_val=255,
    ):
        super().__init__(
            crop_size,
            cat_max_ratio,
            ignore_index,
            pad_to_crop=True,
            pad_val=pad_val,
            seg_pad_val=seg_pad_val,
        )
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(f'bad ratio_range {ratio_range}')
        if interpolation not in _FILTERS:
            raise ValueError(
                f'interpolation must be one of {sorted(_FILTERS)}, not '
                f'{interpolation!r}'
            )
        self.ratio_range = (float(low), float(high))
        self.interpolation = interpolation

    def _label(self, label, size, pads, window):
        """The label resized to ``size``, padded by ``pads`` and cropped
        to ``window`` (padded coordinates)."""
        (ph, pw), (y0, y1, x0, x1) = pads, window
        out = np.full((y1 - y0, x1 - x0), self.seg_pad_val, label.dtype)
        # the window in resized coordinates, clipped to the image
        iy0, iy1 = max(y0 - ph, 0), min(y1 - ph, size[1])
        ix0, ix1 = max(x0 - pw, 0), min(x1 - pw, size[0])
        # PIL's nearest resize of a whole label costs a few ms
        resized = label
        if size != label.shape[::-1]:
            image = Image.fromarray(label).resize(size, Image.NEAREST)
            resized = np.asarray(image)
        kept = resized[iy0:iy1, ix0:ix1]
        out[iy0 + ph - y0 : iy1 + ph - y0, ix0 + pw - x0 : ix1 + pw - x0] = (
            kept
        )
        return out

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        scale = np.random.uniform(*self.ratio_range)
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        th, tw = self.crop_size
        ph = (th - size[1]) // 2 + 1 if th > size[1] else 0
        pw = (tw - size[0]) // 2 + 1 if tw > size[0] else 0
        padded = (size[1] + 2 * ph, size[0] + 2 * pw)
        # what SFCentroidCrop would see, without the pixels
        view = dict(results, img=np.empty(padded + (0,), np.uint8))
        if results.get('centroid') is not None:
            cx, cy = results['centroid']
            view['crop_centroid'] = (int(cx * scale), int(cy * scale))
            results['crop_centroid'] = view['crop_centroid']
        if self.cat_max_ratio < 1.0:  # mmseg's re-draws read the label
            full = (0, padded[0], 0, padded[1])
            view['gt_seg_map'] = self._label(
                results['gt_seg_map'], size, (ph, pw), full
            )
        y0, y1, x0, x1 = self.crop_bbox(view)

        # the window in resized-image coordinates, clipped to the image
        iy0, iy1 = max(y0 - ph, 0), min(y1 - ph, size[1])
        ix0, ix1 = max(x0 - pw, 0), min(x1 - pw, size[0])
        out = np.full(
            (y1 - y0, x1 - x0) + img.shape[2:], self.pad_val, img.dtype
        )
        out[iy0 + ph - y0 : iy1 + ph - y0, ix0 + pw - x0 : ix1 + pw - x0] = (
            resize_window(img, size, (ix0, iy0, ix1, iy1), self.interpolation)
        )
        results['img'] = out
        for key in results.get('seg_fields', []):
            results[key] = self._label(
                results[key], size, (ph, pw), (y0, y1, x0, x1)
            )
        results['img_shape'] = out.shape[:2]
        results['scale'] = size
        results['scale_factor'] = (size[0] / w, size[1] / h)
        results['keep_ratio'] = True
        return results

    def __repr__(self):
        return (
            f'{type(self).__name__}(crop_size={tuple(self.crop_size)}, '
            f'ratio_range={self.ratio_range}, '
            f'interpolation={self.interpolation!r})'
        )

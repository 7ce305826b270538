"""Pipeline transforms for the official SFNet data protocols.

mmseg's ``RandomResize`` scales towards one fixed target scale, which is
right for Cityscapes only; the official training rescales every image by
a factor of its *own* size (Mapillary images are up to 4000+ px wide,
BDD's 1280x720). The official evaluations of UDS and Mapillary score the
*resized* labels, while mmseg scores predictions at the original size;
``SFScoreAtInputSize`` switches to the official protocol.
"""

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SFRandomRescale(BaseTransform):
    """Rescale image and label by ``r ~ U(ratio_range)`` of their own size.

    Official ``RandomSizeAndCrop`` scaling (before the crop): image
    ``interpolation`` (official: bicubic), label nearest. Sets
    ``scale_factor`` like mmcv's ``Resize`` so ``SFCentroidCrop`` can map
    class centroids.

    Args:
        ratio_range (tuple[float]): ``(low, high)``, official (0.5, 2.0).
        interpolation (str): image interpolation.
    """

    def __init__(self, ratio_range=(0.5, 2.0), interpolation='bicubic'):
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(f'bad ratio_range {ratio_range}')
        self.ratio_range = (float(low), float(high))
        self.interpolation = interpolation

    def transform(self, results):
        ratio = np.random.uniform(*self.ratio_range)
        resize = Resize(
            scale_factor=ratio,
            keep_ratio=True,
            interpolation=self.interpolation,
        )
        return resize(results)

    def __repr__(self):
        return (
            f'{type(self).__name__}(ratio_range={self.ratio_range}, '
            f'interpolation={self.interpolation!r})'
        )


@TRANSFORMS.register_module()
class SFResizeHeight(BaseTransform):
    """Resize to a fixed height, keeping the aspect ratio (official
    ``ResizeHeight``, used before the 1536 centre crop on Mapillary)."""

    def __init__(self, height, interpolation='bicubic'):
        self.height = int(height)
        self.interpolation = interpolation

    def transform(self, results):
        h, w = results['img'].shape[:2]
        width = max(1, int(round(w * self.height / h)))
        resize = Resize(
            scale=(width, self.height),
            keep_ratio=False,
            interpolation=self.interpolation,
        )
        return resize(results)

    def __repr__(self):
        return f'{type(self).__name__}(height={self.height})'


@TRANSFORMS.register_module()
class SFCenterCropPad(BaseTransform):
    """Centre-crop image and label to ``size`` and pad what is smaller
    (official ``CenterCropPad``): image with ``pad_val``, label with
    ``seg_pad_val``.

    The official code pads labels with 0 (road) because it does not pass
    its ignore label; the default here pads with 255 (ignored). Set
    ``seg_pad_val=0`` to reproduce the official numbers exactly.
    """

    def __init__(self, size, pad_val=0, seg_pad_val=255):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _apply(self, array, fill):
        th, tw = self.size
        h, w = array.shape[:2]
        y0, x0 = max(0, (h - th) // 2), max(0, (w - tw) // 2)
        array = array[y0 : y0 + th, x0 : x0 + tw]
        h, w = array.shape[:2]
        if (h, w) == (th, tw):
            return array
        top, left = (th - h) // 2, (tw - w) // 2
        out = np.full((th, tw, *array.shape[2:]), fill, dtype=array.dtype)
        out[top : top + h, left : left + w] = array
        return out

    def transform(self, results):
        results['img'] = self._apply(results['img'], self.pad_val)
        for key in results.get('seg_fields', []):
            results[key] = self._apply(results[key], self.seg_pad_val)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class SFScoreAtInputSize(BaseTransform):
    """Score predictions at the transformed size, not the original one.

    mmseg resizes every prediction back to ``ori_shape`` and compares it
    with the label as loaded. The official UDS (2048x1024 resize) and
    Mapillary (1536 crop) evaluations compare at the resized size with
    the resized label. Put this after the resize/crop, with
    ``LoadAnnotations`` *before* them so the label is transformed too.
    """

    def transform(self, results):
        results['ori_shape'] = results['img'].shape[:2]
        return results

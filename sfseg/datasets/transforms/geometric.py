"""Geometric transforms of the official SFNet data protocols.

mmseg's ``RandomResize`` scales towards one fixed target scale, which is
right for Cityscapes only; the official training rescales every image by
a factor of its *own* size (Mapillary images are up to 4000+ px wide,
BDD's 1280x720). The official evaluations of UDS and Mapillary score the
*resized* labels, while mmseg scores predictions at the original size;
``SFScoreAtInputSize`` switches to the official protocol.
"""

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SFRandomRescale(BaseTransform):
    """Rescale image and label by ``s ~ U(ratio_range)`` of their own size.

    The official ``RandomSizeAndCrop`` scaling (before the crop): the new
    size is ``(int(W * s), int(H * s))`` (truncated), the image resized
    with PIL's ``interpolation`` (official: bicubic, which PIL
    antialiases when shrinking, unlike OpenCV) and the label with PIL's
    nearest. A class centroid from ``ClassUniformDataset`` is mapped as
    the official code maps it, ``int(c * s)``, into
    ``results['crop_centroid']`` for ``SFCentroidCrop``. Sets
    ``scale_factor`` and ``img_shape`` like mmcv's ``Resize``.

    Args:
        ratio_range (tuple[float]): ``(low, high)``, official (0.5, 2.0).
        interpolation (str): image interpolation.
        backend (str): ``'pillow'`` (official) or ``'cv2'``.
    """

    def __init__(
        self, ratio_range=(0.5, 2.0), interpolation='bicubic', backend='pillow'
    ):
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(f'bad ratio_range {ratio_range}')
        if backend not in ('pillow', 'cv2'):
            raise ValueError(
                f"backend must be 'pillow' or 'cv2', not {backend!r}"
            )
        self.ratio_range = (float(low), float(high))
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results):
        scale = np.random.uniform(*self.ratio_range)
        h, w = results['img'].shape[:2]
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        results['img'] = mmcv.imresize(
            results['img'],
            size,
            interpolation=self.interpolation,
            backend=self.backend,
        )
        for key in results.get('seg_fields', []):
            results[key] = mmcv.imresize(
                results[key],
                size,
                interpolation='nearest',
                backend=self.backend,
            )
        results['img_shape'] = results['img'].shape[:2]
        results['scale'] = size
        results['scale_factor'] = (size[0] / w, size[1] / h)
        results['keep_ratio'] = True
        if results.get('centroid') is not None:
            cx, cy = results['centroid']
            results['crop_centroid'] = (int(cx * scale), int(cy * scale))
        return results

    def __repr__(self):
        return (
            f'{type(self).__name__}(ratio_range={self.ratio_range}, '
            f'interpolation={self.interpolation!r}, backend={self.backend!r})'
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
    ``seg_pad_val``. The padding is centred as well (mmcv's ``CenterCrop``
    with ``auto_pad`` pads at the bottom / right only).

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

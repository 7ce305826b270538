"""Pipeline transforms for the official SFNet data protocols.

mmseg's ``RandomResize`` scales towards one fixed target scale, which is
right for Cityscapes only; the official training rescales every image by
a factor of its *own* size (Mapillary images are up to 4000+ px wide,
BDD's 1280x720). Its photometric augmentation is torchvision's
``ColorJitter(0.25, 0.25, 0.25, 0.25)`` followed by an always-on Gaussian
blur, not mmseg's ``PhotoMetricDistortion``. The official evaluations of
UDS and Mapillary score the *resized* labels, while mmseg scores
predictions at the original size; ``SFScoreAtInputSize`` switches to the
official protocol.
"""

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageStat
from scipy import ndimage


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


_IDENTITY = list(range(256))


def _blend_lut(base, factor):
    """PIL's ``Image.blend(constant base, image, factor)`` as a 256-entry
    table: ``base + factor * (v - base)`` in float32 (the factor arrives in
    C as a float), truncated, clipped to [0, 255]."""
    v = np.arange(256, dtype=np.float32)
    base = np.float32(base)
    out = base + np.float32(factor) * (v - base)
    return np.clip(out, 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class SFColorJitter(BaseTransform):
    """The official colour jitter (its ``ColorJitter``: torchvision's
    ``adjust_*`` functions on a PIL image).

    The four factors are drawn as the official code draws them (brightness,
    contrast, saturation ~ U(1 - b, 1 + b), hue ~ U(-h, h) turns, in that
    order, then ``np.random.shuffle`` of the order they are applied in), so
    a seeded draw gives the official image. Same bytes as PIL's
    ``ImageEnhance`` and HSV hue rotation, faster: brightness and contrast
    (blends with a constant image) are 256-entry tables, the hue shift a
    table on the H channel, and the image stays in one PIL buffer read
    from and written to mmcv's BGR layout.

    Args:
        brightness, contrast, saturation (float): jitter strengths (0.25).
        hue (float): max hue shift in turns, at most 0.5 (0.25).
    """

    def __init__(self, brightness=0.25, contrast=0.25, saturation=0.25,
                 hue=0.25):  # fmt: skip
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.strengths = (brightness, contrast, saturation)
        self.hue = hue

    def draw(self):
        """``[(kind, factor)]`` in the order to apply them."""
        steps = [
            (kind, np.random.uniform(max(0, 1 - strength), 1 + strength))
            for kind, strength in zip(
                ('brightness', 'contrast', 'saturation'), self.strengths
            )
            if strength > 0
        ]
        if self.hue > 0:
            steps.append(('hue', np.random.uniform(-self.hue, self.hue)))
        np.random.shuffle(steps)
        return steps

    @staticmethod
    def apply(img, kind, factor):
        """One official step on an RGB PIL image."""
        if kind == 'brightness':  # blend with black
            return img.point(list(_blend_lut(0, factor)) * 3)
        if kind == 'contrast':  # blend with the rounded mean grey
            mean = int(ImageStat.Stat(img.convert('L')).mean[0] + 0.5)
            return img.point(list(_blend_lut(mean, factor)) * 3)
        if kind == 'saturation':  # blend with the grey image
            grey = img.convert('L').convert('RGB')
            return Image.blend(grey, img, factor)
        # hue: rotate H of PIL's HSV by int(factor * 255), wrapping (the
        # official np.uint8 addition)
        shift = int(factor * 255)
        rotate = [(i + shift) % 256 for i in range(256)]
        hsv = img.convert('HSV').point(rotate + _IDENTITY * 2)
        return hsv.convert('RGB')

    def transform(self, results):
        bgr = np.ascontiguousarray(results['img'])
        height, width = bgr.shape[:2]
        img = Image.frombuffer('RGB', (width, height), bgr, 'raw', 'BGR', 0, 1)
        for kind, factor in self.draw():
            img = self.apply(img, kind, factor)
        out = np.empty((height, width, 3), np.uint8)  # writable
        out.reshape(-1)[:] = np.frombuffer(img.tobytes('raw', 'BGR'), np.uint8)
        results['img'] = out
        return results


def gaussian_kernel(sigma, truncate=4.0):
    """scipy.ndimage's 1-D Gaussian weights (radius ``int(truncate * sigma
    + 0.5)``, normalised to sum 1), as skimage's ``gaussian`` uses them."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return phi / phi.sum()


@TRANSFORMS.register_module()
class SFGaussianBlur(BaseTransform):
    """The official always-on Gaussian blur (``RandomGaussianBlur``).

    sigma ~ 0.15 + U(0, 1) * 1.15; the image is filtered per channel as
    float64 in [0, 1] with scipy's Gaussian weights (4 sigma, border
    'nearest'), scaled by 255 and truncated to uint8, as
    ``skimage.filters.gaussian`` in the official code. OpenCV's separable
    filter does the filtering (about 4x faster than scipy); it sums in
    another order, so a value that lands within rounding of a whole grey
    level may truncate to the level below or above: at most 1 grey level
    from the official output (docs/benchmark.md gives the share).

    Args:
        sigma_min, sigma_span (float): the official 0.15 and 1.15.
        backend (str): ``'cv2'`` (default) or ``'scipy'`` (the official
            filter itself).
    """

    def __init__(self, sigma_min=0.15, sigma_span=1.15, backend='cv2'):
        if backend not in ('cv2', 'scipy'):
            raise ValueError(
                f"backend must be 'cv2' or 'scipy', not {backend!r}"
            )
        self.sigma_min, self.sigma_span = sigma_min, sigma_span
        self.backend = backend

    def transform(self, results):
        sigma = self.sigma_min + np.random.random() * self.sigma_span
        img = results['img'].astype(np.float64) / 255.0
        if self.backend == 'scipy':
            blurred = ndimage.gaussian_filter(
                img, sigma=(sigma, sigma, 0), mode='nearest', truncate=4.0
            )
        else:
            kernel = gaussian_kernel(sigma)
            blurred = cv2.sepFilter2D(
                img,
                cv2.CV_64F,
                kernel,
                kernel,
                borderType=cv2.BORDER_REPLICATE,
            )
        blurred *= 255
        results['img'] = blurred.astype(np.uint8)
        return results

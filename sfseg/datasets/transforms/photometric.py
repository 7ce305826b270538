"""Photometric transforms of the official SFNet training: torchvision's
``ColorJitter(0.25, 0.25, 0.25, 0.25)`` followed by an always-on Gaussian
blur, not mmseg's ``PhotoMetricDistortion``.
"""

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageStat
from scipy import ndimage

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

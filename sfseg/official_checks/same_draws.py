"""sfseg's augmentation replayed with the official code's random draws.

``benchmark_data_prep.py --official-root`` times both training pipelines
and checks them transform by transform: the official
``RandomSizeAndCrop`` runs with ``random.uniform`` / ``random.randint``
recorded, and the recorded scale and offsets are fed to
``SFRandomSizeAndCrop`` through ``np.random``; the colour jitter and the
blur start from the same seeds. Identical outputs (blur: 1 grey level,
OpenCV sums in another order) show the ports draw and compute alike.
"""

import random
from unittest import mock

import numpy as np
from PIL import Image


def same_draw_differences(joint, appearance, steps, rgb, label, centroid):
    """Max abs difference of each sfseg transform from the official one,
    both driven by the same draws (recorded from the official run).

    Args:
        joint, appearance: the official transforms
            (:func:`~sfseg.official_checks.official_augmentation.official_transforms`).
        steps: sfseg's train pipeline without loading and packing
            (:func:`~sfseg.official_checks.official_augmentation.sfseg_transforms`
            of the Cityscapes config: crop, flip, colour jitter, blur).
        rgb (ndarray): H x W x 3 uint8 image.
        label (ndarray): H x W uint8 train ids.
        centroid (tuple | None): ``(x, y)`` the crop is centred on, or
            ``None`` for a plain random crop.

    Returns:
        dict: grey levels (int) per transform, or ``'shapes ... vs ...'``
        where the outputs differ in shape, and the share of blurred values
        that differ (float).
    """
    crop, jitter, blur = steps[0], steps[2], steps[3]
    # RandomSizeAndCrop: official random.uniform / randint recorded
    drawn = []
    real_uniform, real_randint = random.uniform, random.randint

    def record(fn):
        def wrapped(*args):
            drawn.append(fn(*args))
            return drawn[-1]

        return wrapped

    with (
        mock.patch.object(random, 'uniform', record(real_uniform)),
        mock.patch.object(random, 'randint', record(real_randint)),
    ):
        off_img, off_mask = joint[0](
            Image.fromarray(rgb), Image.fromarray(label), centroid
        )
    off_img, off_mask = np.asarray(off_img), np.asarray(off_mask)
    scale, *offsets = drawn
    if centroid is None:
        # official: x (if the padded width exceeds the crop), then y (if
        # the height does); mmseg's RandomCrop: y, then x, always
        h, w = label.shape
        size = (int(w * scale), int(h * scale))
        th, tw = crop.crop_size
        padded = [n + 2 * ((t - n) // 2 + 1) if t > n else n
                  for n, t in ((size[0], tw), (size[1], th))]  # fmt: skip
        seq = iter(offsets)
        x = next(seq) if padded[0] != tw else 0
        y = next(seq) if padded[1] != th else 0
        offsets = [y, x]
    # centroid: both draw x then y from the same inclusive ranges
    seq = iter(offsets)
    patches = dict(uniform=lambda *a: scale, randint=lambda *a: next(seq, 0))
    with mock.patch.multiple(np.random, **patches):
        out = crop(
            dict(
                img=np.ascontiguousarray(rgb[..., ::-1]),
                gt_seg_map=label.copy(),
                seg_fields=['gt_seg_map'],
                centroid=centroid,
            )
        )
    diffs = {
        'RandomSizeAndCrop image': max_abs_difference(
            out['img'][..., ::-1], off_img
        ),
        'RandomSizeAndCrop label': max_abs_difference(
            out['gt_seg_map'], off_mask
        ),
    }
    bgr = np.ascontiguousarray(off_img[..., ::-1])
    # ColorJitter: both draw from np.random in the same order
    np.random.seed(7)
    off = np.asarray(appearance[0](Image.fromarray(off_img)))
    np.random.seed(7)
    ours = jitter(dict(img=bgr.copy()))['img'][..., ::-1]
    diffs['ColorJitter'] = max_abs_difference(ours, off)
    # Gaussian blur: the official random.random(), ours np.random.random()
    random.seed(7)
    value = random.random()
    random.seed(7)
    off = np.asarray(appearance[1](Image.fromarray(off_img)))
    with mock.patch.object(np.random, 'random', lambda *a: value):
        ours = blur(dict(img=bgr.copy()))['img'][..., ::-1]
    diffs['GaussianBlur'] = max_abs_difference(ours, off)
    diffs['GaussianBlur share differing'] = float((ours != off).mean())
    return diffs


def max_abs_difference(a, b):
    """Largest ``|a - b|`` of two integer arrays, or a note of their
    shapes where they differ."""
    if a.shape != b.shape:
        return f'shapes {a.shape} vs {b.shape}'
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())

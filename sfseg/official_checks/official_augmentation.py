"""The official SFNet training augmentation next to sfseg's pipeline.

Used by ``check_official_training.py --what augmentation``: both pipelines
run many times on one real-sized image + label, and the distributions of a
few statistics of their outputs are compared with two-sample KS tests.

Official side (``datasets/__init__.py`` of lxtGH/SFSegNets, train mode):
``RandomSizeAndCrop(crop, crop_nopad=False, scale 0.5-2.0, ignore 255)``,
``Resize(crop)``, ``RandomHorizontallyFlip``, ``ColorJitter(0.25 x 4)``,
``RandomGaussianBlur``. Run-time adaptations, no file edited: when
torchvision is not importable, a stand-in ``torchvision.transforms`` with
the ``Lambda`` / ``Compose`` the official ``ColorJitter`` uses; skimage's
``gaussian`` takes ``channel_axis=-1`` where the official code passes the
removed ``multichannel=True``; the official hue shift
``np.uint8(hue_factor * 255)`` wraps negative shifts as numpy 1.x did
(numpy 2 raises ``OverflowError``).
"""

import random
import sys
import types

import numpy as np
from PIL import Image

STATS = (
    'scale',
    'padded fraction',
    'rare class in crop',
    'mean R',
    'mean G',
    'mean B',
    'std R',
    'std G',
    'std B',
)


class _Lambda:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, img):
        return self.fn(img)


class _Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class _WrappingUInt8(np.uint8):
    """``np.uint8`` whose constructor wraps like numpy 1.x (``-25 -> 231``);
    as a dtype it is plain uint8."""

    def __new__(cls, value=0):
        return np.uint8(int(value) % 256)


def _numpy1_uint8(module):
    """``module`` sees numpy with numpy 1.x's ``uint8`` constructor."""
    proxy = types.ModuleType('numpy')
    proxy.__dict__.update(np.__dict__)
    proxy.uint8 = _WrappingUInt8
    module.np = proxy


def _install_torchvision_standin():
    try:
        import torchvision.transforms  # noqa: F401
    except (ImportError, RuntimeError):
        tv = types.ModuleType('torchvision')
        tr = types.ModuleType('torchvision.transforms')
        tr.Lambda, tr.Compose = _Lambda, _Compose
        tv.transforms = tr
        sys.modules.update({'torchvision': tv, 'torchvision.transforms': tr})


def official_transforms(root):
    """``(joint transforms, input transforms)`` of the official training."""
    from skimage import filters

    from sfseg.official_checks.official_sfsegnets import import_official

    import_official(root)  # official config on the path
    _install_torchvision_standin()
    from transforms import joint_transforms
    from transforms import transforms as extended

    def gaussian(img, sigma, multichannel=False, **kwargs):
        axis = -1 if multichannel else None
        return filters.gaussian(img, sigma=sigma, channel_axis=axis, **kwargs)

    extended.gaussian = gaussian
    _numpy1_uint8(extended)
    joint = [
        joint_transforms.RandomSizeAndCrop(
            1024, False, scale_min=0.5, scale_max=2.0, ignore_index=255
        ),
        joint_transforms.Resize(1024),
        joint_transforms.RandomHorizontallyFlip(),
    ]
    appearance = [
        extended.ColorJitter(0.25, 0.25, 0.25, 0.25),
        extended.RandomGaussianBlur(),
    ]
    return joint, appearance


def run_official(joint, appearance, rgb, label, centroid, seed):
    """One official sample: ``(RGB uint8 crop, label crop, scale)``."""
    random.seed(seed)
    np.random.seed(seed)
    scales = []
    uniform = random.uniform

    def recording_uniform(a, b):
        scales.append(uniform(a, b))
        return scales[-1]

    img, mask = Image.fromarray(rgb), Image.fromarray(label)
    random.uniform = recording_uniform
    try:
        img, mask = joint[0](img, mask, centroid)
    finally:
        random.uniform = uniform
    for t in joint[1:]:
        img, mask = t(img, mask)
    for t in appearance:
        img = t(img)
    width = rgb.shape[1]
    return np.asarray(img), np.asarray(mask), int(width * scales[0]) / width


def sfseg_transforms(cfg):
    """sfseg's train pipeline of ``cfg`` without loading and packing."""
    from mmseg.registry import TRANSFORMS

    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    skip = ('LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs')
    return [TRANSFORMS.build(t) for t in pipeline if t.type not in skip]


def run_sfseg(transforms, rgb, label, centroid, seed):
    np.random.seed(seed)
    results = dict(
        img=np.ascontiguousarray(rgb[:, :, ::-1]),
        gt_seg_map=label.copy(),
        seg_fields=['gt_seg_map'],
        img_shape=label.shape,
        ori_shape=label.shape,
        centroid=centroid,
    )
    for t in transforms:
        results = t(results)
    scale = results['scale_factor'][0]
    return results['img'][:, :, ::-1], results['gt_seg_map'], scale


def statistics(img, label, scale, rare):
    pixels = img.reshape(-1, 3).astype(np.float64)
    return (
        scale,
        float((label == 255).mean()),
        float((label == rare).any()),
        *pixels.mean(0),
        *pixels.std(0),
    )


def compare(root, cfg, rgb, label, centroids, rare, draws, progress=None):
    """KS statistic and p-value per statistic, and both samples' means.

    Half of the draws are class-centred on a centroid of ``rare`` (the
    same centroid on both sides), the others plain random crops.
    """
    from scipy.stats import ks_2samp

    joint, appearance = official_transforms(root)
    ours = sfseg_transforms(cfg)
    rows = {'official': [], 'sfseg': []}
    for i in range(draws):
        rng = np.random.RandomState(i)
        centroid = None
        if i % 2:
            centroid = tuple(centroids[rng.randint(len(centroids))])
        out = run_official(joint, appearance, rgb, label, centroid, i)
        rows['official'].append(statistics(*out, rare))
        out = run_sfseg(ours, rgb, label, centroid, 100_000 + i)
        rows['sfseg'].append(statistics(*out, rare))
        if progress is not None:
            progress.update()
    a, b = np.array(rows['official']), np.array(rows['sfseg'])
    result = []
    for j, name in enumerate(STATS):
        test = ks_2samp(a[:, j], b[:, j])
        result.append(
            dict(
                stat=name,
                official=float(a[:, j].mean()),
                sfseg=float(b[:, j].mean()),
                ks=float(test.statistic),
                p=float(test.pvalue),
            )
        )
    return result

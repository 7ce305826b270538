"""A tiny synthetic COCO-panoptic set, for tests, tools and checks that
train, test or export a panoptic model end to end without a data set.

- :func:`write_toy_panoptic` writes the images, panoptic PNGs and the
  COCO-panoptic JSON: two stuff classes (``sky`` above ``road``), 2-3
  ``person`` / ``car`` instances and a void band at the bottom, with
  ids ``R + 256 G + 256^2 B``;
- :func:`toy_metainfo`, :data:`CATEGORY_IDS`: its classes (things first,
  as K-Net expects) and their non-contiguous COCO-style ids.
"""

import json
import os
import os.path as osp

import numpy as np

THING_CLASSES = ('person', 'car')
STUFF_CLASSES = ('road', 'sky')
# Non-contiguous ids like COCO's; things first, as K-Net expects.
CATEGORY_IDS = {'person': 1, 'car': 3, 'road': 149, 'sky': 187}
# Colours of the synthetic image per class (RGB), noise is added on top.
CLASS_RGB = {
    'person': (230, 200, 40),
    'car': (200, 30, 30),
    'road': (110, 110, 110),
    'sky': (70, 130, 220),
}


def toy_metainfo():
    """``metainfo`` for ``CocoPanopticDataset`` on the toy set."""
    return dict(
        classes=THING_CLASSES + STUFF_CLASSES,
        thing_classes=THING_CLASSES,
        stuff_classes=STUFF_CLASSES,
    )


def _toy_layout(h, w, rng):
    """Segments of one image: list of (class name, bool mask (H, W))."""
    horizon = int(h * rng.uniform(0.35, 0.55))
    void_rows = max(2, h // 16)
    sky = np.zeros((h, w), bool)
    sky[:horizon] = True
    road = np.zeros((h, w), bool)
    road[horizon : h - void_rows] = True
    things = []
    # Things sit in separate vertical slots so instances never touch.
    num_things = int(rng.integers(2, 4))
    slot = w // num_things
    for k in range(num_things):
        name = THING_CLASSES[int(rng.integers(0, 2))]
        if name == 'car':
            bh, bw = int(h * 0.25), int(slot * 0.7)
        else:
            bh, bw = int(h * 0.45), int(slot * 0.4)
        x0 = k * slot + int(rng.integers(1, max(2, slot - bw - 1)))
        y1 = int(rng.integers(horizon + 2, h - void_rows))
        y0 = max(1, y1 - bh)
        mask = np.zeros((h, w), bool)
        mask[y0:y1, x0 : x0 + bw] = True
        things.append((name, mask))
    covered = np.zeros((h, w), bool)
    for _, m in things:
        covered |= m
    segments = [(n, m) for n, m in things]
    segments += [('sky', sky & ~covered), ('road', road & ~covered)]
    return [(n, m) for n, m in segments if m.any()]


def write_toy_panoptic(root, num_images=2, size=(64, 96), seed=0):
    """Write a tiny COCO-panoptic set under ``root``.

    Layout: ``images/toy_XXXX.jpg``, ``panoptic/toy_XXXX.png`` (RGB-encoded
    segment ids, 0 = void) and ``annotations/panoptic.json`` (images,
    annotations with ``segments_info``, categories things first).

    Args:
        root (str): Output folder, created if missing.
        num_images (int): Number of images (image ids ``0..n-1``).
        size (tuple[int, int]): Image size (H, W).
        seed (int): Seed of the layouts and the image noise; the same
            arguments write the same files.

    Returns:
        dict: ``ann_file``, ``img_dir``, ``seg_dir`` (absolute paths) and
        ``segments`` (total number of segments).
    """
    from panopticapi.utils import id2rgb
    from PIL import Image

    h, w = size
    rng = np.random.default_rng(seed)
    for sub in ('images', 'panoptic', 'annotations'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    images, annotations, total = [], [], 0
    for i in range(num_images):
        name = f'toy_{i:04d}'
        ids = np.zeros((h, w), np.int64)
        img = np.zeros((h, w, 3), np.float64)
        segments_info = []
        for k, (cls, mask) in enumerate(_toy_layout(h, w, rng)):
            cat = CATEGORY_IDS[cls]
            # Use all three RGB channels of the encoding.
            seg_id = 256**2 * (k + 1) + 256 * (cat % 256) + 1 + i
            ids[mask] = seg_id
            img[mask] = CLASS_RGB[cls]
            ys, xs = np.nonzero(mask)
            segments_info.append(
                dict(
                    id=int(seg_id),
                    category_id=cat,
                    area=int(mask.sum()),
                    bbox=[
                        int(xs.min()),
                        int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1),
                    ],
                    iscrowd=0,
                )
            )
        img += rng.normal(0, 12, img.shape)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(
            osp.join(root, 'images', name + '.jpg'), quality=95
        )
        Image.fromarray(id2rgb(ids)).save(
            osp.join(root, 'panoptic', name + '.png')
        )
        images.append(dict(id=i, file_name=name + '.jpg', height=h, width=w))
        annotations.append(
            dict(
                image_id=i,
                file_name=name + '.png',
                segments_info=segments_info,
            )
        )
        total += len(segments_info)
    categories = [
        dict(
            id=CATEGORY_IDS[n],
            name=n,
            supercategory=n,
            isthing=int(n in THING_CLASSES),
        )
        for n in THING_CLASSES + STUFF_CLASSES
    ]
    ann_file = osp.join(root, 'annotations', 'panoptic.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(
                images=images,
                annotations=annotations,
                categories=categories,
            ),
            f,
        )
    return dict(
        ann_file=osp.abspath(ann_file),
        img_dir=osp.abspath(osp.join(root, 'images')),
        seg_dir=osp.abspath(osp.join(root, 'panoptic')),
        segments=total,
    )

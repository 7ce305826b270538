"""A procedural toy driving dataset in the Cityscapes layout.

No downloads: every image is drawn from a seeded random scene (sky,
buildings, vegetation, road with lane marks, sidewalks, poles, signs, cars,
people) so the demo and the tests have data to train and evaluate on. Files
follow Cityscapes naming, so ``CityscapesDataset`` reads them unchanged::

    OUT/leftImg8bit/{train,val,test}/toytown/
        toytown_000000_000042_leftImg8bit.png
    OUT/gtFine/{train,val,test}/toytown/
        toytown_000000_000042_gtFine_labelTrainIds.png   (train ids, 255)
        toytown_000000_000042_gtFine_labelIds.png        (Cityscapes ids)

``generate`` refuses to write into a non-empty directory unless ``force``;
``tools/dataset_converters/toy_driving.py`` is its command line.
"""

import os
import os.path as osp
import sys

import numpy as np
from mmengine.utils import ProgressBar
from PIL import Image

CITY = 'toytown'
# train id -> Cityscapes label id (cityscapesscripts' labels table).
TRAIN_TO_LABEL_ID = {
    0: 7,
    1: 8,
    2: 11,
    3: 12,
    4: 13,
    5: 17,
    6: 19,
    7: 20,
    8: 21,
    9: 22,
    10: 23,
    11: 24,
    12: 25,
    13: 26,
    14: 27,
    15: 28,
    16: 31,
    17: 32,
    18: 33,
}
ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, SKY, PERSON, CAR = (
    0,
    1,
    2,
    5,
    7,
    8,
    10,
    11,
    13,
)
BASE_COLOURS = {
    ROAD: (90, 90, 95),
    SIDEWALK: (190, 160, 170),
    BUILDING: (140, 100, 70),
    POLE: (200, 200, 60),
    SIGN: (230, 200, 20),
    VEGETATION: (60, 140, 50),
    SKY: (110, 160, 230),
    PERSON: (210, 60, 80),
    CAR: (30, 40, 170),
}


def _paint(img, label, mask, cls, rng, colour=None, noise=12):
    colour = np.array(colour or BASE_COLOURS[cls], dtype=np.float32)
    colour = colour * rng.uniform(0.85, 1.15)
    shade = rng.normal(0, noise, size=img.shape)
    img[mask] = np.clip(colour + shade[mask], 0, 255)
    label[mask] = cls


def draw_scene(height, width, rng):
    """Return an (H, W, 3) uint8 RGB image and its (H, W) train-id map."""
    img = np.zeros((height, width, 3), dtype=np.float32)
    label = np.full((height, width), 255, dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    horizon = int(height * rng.uniform(0.38, 0.5))

    sky = yy < horizon
    _paint(img, label, sky, SKY, rng, noise=6)
    img[sky] += ((horizon - yy[sky]) / horizon * 30)[:, None]

    x = 0
    while x < width:  # a row of buildings along the horizon
        bw = int(rng.uniform(0.08, 0.22) * width)
        top = int(horizon * rng.uniform(0.15, 0.7))
        mask = (xx >= x) & (xx < x + bw) & (yy >= top) & (yy < horizon)
        _paint(img, label, mask, BUILDING, rng)
        win = mask & ((yy - top) % 9 < 4) & ((xx - x) % 11 < 5)
        img[win] *= 0.6  # windows: texture, still "building"
        x += bw + int(rng.uniform(0, 0.05) * width)

    for _ in range(rng.integers(1, 4)):  # tree crowns over the buildings
        cx, cy = rng.uniform(0, width), horizon - rng.uniform(0, 0.2) * height
        r = rng.uniform(0.05, 0.12) * height
        mask = (xx - cx) ** 2 + ((yy - cy) * 1.3) ** 2 < r**2
        _paint(img, label, mask, VEGETATION, rng, noise=25)

    vanish = width * rng.uniform(0.4, 0.6)
    depth = np.clip((yy - horizon) / max(height - horizon, 1), 0, 1)
    half_road = (0.05 + 0.9 * depth) * width * 0.5
    road = (yy >= horizon) & (np.abs(xx - vanish) < half_road)
    ground = (yy >= horizon) & ~road
    _paint(img, label, ground, SIDEWALK, rng)
    _paint(img, label, road, ROAD, rng, noise=8)
    lane = road & (np.abs(xx - vanish) < 1 + 3 * depth) & (yy % 14 < 7)
    img[lane] = 235  # lane marks are painted road

    # cars on the road, far to near so nearer cars occlude farther ones
    for d in np.sort(rng.uniform(0.25, 0.95, rng.integers(1, 4))):
        cy = int(horizon + d * (height - horizon))
        ch, cw = max(int(0.22 * d * height), 3), max(int(0.3 * d * width), 4)
        cx = int(
            vanish + rng.uniform(-0.7, 0.7) * (0.05 + 0.9 * d) * width * 0.5
        )
        mask = (
            (yy >= cy - ch)
            & (yy < cy)
            & (xx >= cx - cw // 2)
            & (xx < cx + cw // 2)
        )
        _paint(
            img, label, mask, CAR, rng, colour=tuple(rng.integers(20, 200, 3))
        )
        wheels = mask & (yy >= cy - max(ch // 4, 1))
        img[wheels] = 20

    for side in (-1, 1):  # poles with signs, people on the sidewalks
        d = rng.uniform(0.3, 0.9)
        base = int(horizon + d * (height - horizon))
        px = int(vanish + side * (0.07 + 0.9 * d) * width * 0.5)
        pw, ph = max(int(0.012 * width * (0.5 + d)), 1), int(0.5 * d * height)
        mask = (xx >= px) & (xx < px + pw) & (yy < base) & (yy >= base - ph)
        _paint(img, label, mask, POLE, rng, noise=5)
        s = max(int(0.05 * height * (0.5 + d)), 2)
        mask = (
            (xx >= px - s // 2)
            & (xx < px + s // 2 + pw)
            & (yy >= base - ph - s)
            & (yy < base - ph)
        )
        _paint(img, label, mask, SIGN, rng, noise=5)
        if rng.random() < 0.8:
            qx = px + side * int(rng.uniform(0.03, 0.1) * width)
            qh, qw = int(0.3 * d * height), max(int(0.025 * d * width), 2)
            mask = (
                (xx >= qx) & (xx < qx + qw) & (yy < base) & (yy >= base - qh)
            )
            _paint(img, label, mask, PERSON, rng)

    img *= rng.uniform(0.7, 1.2)  # global lighting
    return np.clip(img, 0, 255).astype(np.uint8), label


def to_label_ids(train_ids):
    out = np.zeros_like(train_ids)
    for train_id, label_id in TRAIN_TO_LABEL_ID.items():
        out[train_ids == train_id] = label_id
    return out


def write_split(out_dir, split, count, size, rng, first_index, progress):
    img_dir = osp.join(out_dir, 'leftImg8bit', split, CITY)
    ann_dir = osp.join(out_dir, 'gtFine', split, CITY)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for i in range(count):
        stem = f'{CITY}_000000_{first_index + i:06d}'
        img, train_ids = draw_scene(size[0], size[1], rng)
        Image.fromarray(img).save(osp.join(img_dir, f'{stem}_leftImg8bit.png'))
        Image.fromarray(train_ids).save(
            osp.join(ann_dir, f'{stem}_gtFine_labelTrainIds.png')
        )
        Image.fromarray(to_label_ids(train_ids)).save(
            osp.join(ann_dir, f'{stem}_gtFine_labelIds.png')
        )
        progress.update()


def generate(
    out_dir,
    num_train=48,
    num_val=12,
    num_test=2,
    size=(256, 512),
    seed=0,
    force=False,
    show_progress=True,
):
    """Write the dataset; return a dict of split -> number of images."""
    if osp.isfile(out_dir):
        raise FileExistsError(f'{out_dir} is a file, not a directory')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not force:
        raise FileExistsError(
            f'{out_dir} is not empty; pass --force to write into it '
            '(files with the same names are overwritten)'
        )
    if min(size) < 32:
        raise ValueError(f'image size {size} is too small (min 32x32)')
    rng = np.random.default_rng(seed)
    counts = dict(train=num_train, val=num_val, test=num_test)
    total = sum(counts.values())

    class _Silent:
        def update(self):
            pass

    progress = ProgressBar(total) if show_progress else _Silent()
    index = 0
    for split, count in counts.items():
        write_split(out_dir, split, count, size, rng, index, progress)
        index += count
    if show_progress:
        sys.stdout.write('\n')
    return counts

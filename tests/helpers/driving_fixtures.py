"""Tiny driving datasets in their official layouts and file names.

Scenes come from the procedural toy generator (19 train ids); labels are
written in each dataset's *source* ids (Mapillary 0-65, IDD 0-39,
Cityscapes labelIds) by inverting the official tables, so running the
converters must give the scene back exactly.
"""

import os
import os.path as osp

import numpy as np
from PIL import Image

from sfseg.datasets.convert import IDD_TO_TRAIN, MAPILLARY_TO_TRAIN
from sfseg.datasets.convert.idd import convert_idd
from sfseg.datasets.convert.mapillary import convert_mapillary
from sfseg.datasets.toy.driving import draw_scene, generate, to_label_ids

SIZE = (64, 128)


def save(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def inverse_lut(table):
    """train id -> the first source id mapping to it (others -> 255)."""
    lut = np.full(256, 255, np.uint8)
    for src, dst in sorted(table.items(), reverse=True):
        lut[dst] = src
    return lut


def make_uds_fixture(root, counts=(('train', 2), ('val', 1)), seed=0):
    """BDD, Mapillary, IDD and Cityscapes; Mapillary and IDD converted.

    Returns ``{converted label path (relative): expected train ids}``.
    """
    rng = np.random.default_rng(seed)
    generate(
        osp.join(root, 'cityscapes'), 2, 1, 0, SIZE, seed, show_progress=False
    )
    to_map, to_idd = inverse_lut(MAPILLARY_TO_TRAIN), inverse_lut(IDD_TO_TRAIN)
    truth = {}
    for split, n in counts:
        msplit = dict(train='training', val='validation')[split]
        for i in range(n):
            img, ids = draw_scene(*SIZE, rng)
            save(f'{root}/bdd/images/{split}/b{i}.jpg', img)
            save(f'{root}/bdd/labels/{split}/b{i}_train_id.png', ids)
            img, ids = draw_scene(*SIZE, rng)
            save(f'{root}/mapillary/{msplit}/images/m{i}.jpg', img)
            save(
                f'{root}/mapillary/{msplit}/v1.2/labels/m{i}.png', to_map[ids]
            )
            truth[f'mapillary19/{msplit}/labels/m{i}.png'] = ids
            img, ids = draw_scene(*SIZE, rng)
            stem = f'{root}/IDD/%s/{split}/0/{i:06d}'
            save(stem % 'leftImg8bit' + '_leftImg8bit.png', img)
            save(stem % 'gtFine' + '_gtFine_labelids.png', to_idd[ids])
            truth[
                f'IDD19/gtFine/{split}/0/{i:06d}_gtFine_labelTrainIds.png'
            ] = ids
    convert_mapillary(
        f'{root}/mapillary', f'{root}/mapillary19', show_progress=False
    )
    convert_idd(f'{root}/IDD', f'{root}/IDD19', show_progress=False)
    return truth


def make_coarse_fixture(root, num=3, seed=5, classes=None):
    """Cityscapes ``train_extra`` images with ``_gtCoarse_labelIds.png``.

    ``classes`` (train ids) keeps only those classes in the labels (the
    rest 255 -> labelId 0), to make a class exist only in coarse data.
    """
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(num):
        img, ids = draw_scene(*SIZE, rng)
        if classes is not None:
            ids = np.where(np.isin(ids, classes), ids, 255).astype(np.uint8)
        name = f'bochum_{i:06d}_000019'
        save(
            f'{root}/leftImg8bit/train_extra/bochum/{name}_leftImg8bit.png',
            img,
        )
        save(
            f'{root}/gtCoarse/train_extra/bochum/{name}_gtCoarse_labelIds.png',
            to_label_ids(ids),
        )
        truth[
            f'gtCoarse/train_extra/bochum/{name}_gtCoarse_labelTrainIds.png'
        ] = ids
    return truth


def make_camvid_fixture(root, counts=(('train', 2), ('val', 1), ('test', 1))):
    """SegNet-layout CamVid: labels 0-10 and 11 (void)."""
    rng = np.random.default_rng(3)
    for split, n in counts:
        for i in range(n):
            img = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
            label = rng.integers(0, 12, SIZE, dtype=np.uint8)
            name = f'0001TP_{6690 + 30 * i:06d}.png'
            save(f'{root}/{split}/{name}', img)
            save(f'{root}/{split}annot/{name}', label)

"""Mapillary Vistas v1.2 (or v1.1) labels -> 19 Cityscapes train ids.

Reads ``ROOT/<split>/images/<name>.jpg`` and ``ROOT/<split>/v1.2/labels/
<name>.png`` (v1.1: ``ROOT/<split>/labels``), writes ``OUT_ROOT/<split>/
labels/<name>.png`` with the official SFNet mapping (66 ids -> 19 classes,
the rest 255). The input tree is never modified. v2.0 labels (recognised
by their palette or by ids >= 66) are refused: the v1.2 table would give
them wrong classes. ``tools/dataset_converters/mapillary.py`` is the
command line of :func:`convert_mapillary`.
"""

import functools
import os
import os.path as osp

from .common import LabelConversionError, convert_dataset
from .label_maps import MAPILLARY_NUM_IDS, MAPILLARY_TO_TRAIN
from .mapillary_version import check_mapillary_v1_label


def collect_mapillary_pairs(root, out_root, splits):
    """``[(label or None, image, output label)]`` paths of every image of
    ``splits`` under ``root`` (``None``: the image has no label)."""
    if not osp.isdir(root):
        raise LabelConversionError(f'Mapillary root not found: {root}')
    pairs = []
    for split in splits:
        img_dir = osp.join(root, split, 'images')
        if not osp.isdir(img_dir):
            raise LabelConversionError(
                f'wrong layout: {img_dir} not found (expected '
                f'<root>/{split}/images/*.jpg)'
            )
        label_dirs = [
            osp.join(root, split, 'v1.2', 'labels'),
            osp.join(root, split, 'labels'),
        ]
        label_dir = next((d for d in label_dirs if osp.isdir(d)), None)
        if label_dir is None:
            v2 = osp.join(root, split, 'v2.0', 'labels')
            hint = (
                f'; {v2} holds Mapillary v2.0 labels, whose 124 ids the '
                'official v1.2 table does not cover'
                if osp.isdir(v2)
                else ''
            )
            raise LabelConversionError(
                f'wrong layout: no label folder for {split} (looked for '
                f'{label_dirs[0]} and {label_dirs[1]}){hint}'
            )
        for name in sorted(os.listdir(img_dir)):
            stem, ext = osp.splitext(name)
            if ext.lower() not in ('.jpg', '.jpeg', '.png'):
                continue
            label = osp.join(label_dir, stem + '.png')
            pairs.append(
                (
                    label if osp.isfile(label) else None,
                    osp.join(img_dir, name),
                    osp.join(out_root, split, 'labels', stem + '.png'),
                )
            )
    return pairs


def convert_mapillary(
    root,
    out_root,
    splits=('training', 'validation'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
    unknown_ids_to_ignore=False,
):
    """Convert the labels of ``splits`` under ``root`` into ``out_root``
    with ``nproc`` processes; returns the report of
    :func:`~sfseg.datasets.convert_dataset` (``converted``, unknown ids,
    missing and bad files).

    ``unknown_ids_to_ignore``: write ids >= 66 of labels without a v2.0
    palette as 255 (reported with pixel counts) instead of refusing them.
    """
    return convert_dataset(
        collect_mapillary_pairs,
        root,
        out_root,
        splits,
        MAPILLARY_TO_TRAIN,
        MAPILLARY_NUM_IDS,
        nproc,
        force,
        skip_bad,
        show_progress,
        check=functools.partial(
            check_mapillary_v1_label, allow_unknown=unknown_ids_to_ignore
        ),
    )

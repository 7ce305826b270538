"""Mapillary Vistas v1.2 (or v1.1) labels -> 19 Cityscapes train ids.

    python tools/dataset_converters/mapillary.py MAPILLARY_ROOT OUT_ROOT \\
        [--nproc 2] [--splits training validation] [--force] [--skip-bad]
        [--unknown-ids-to-ignore]

Reads ``ROOT/<split>/images/<name>.jpg`` and ``ROOT/<split>/v1.2/labels/
<name>.png`` (v1.1: ``ROOT/<split>/labels``), writes ``OUT_ROOT/<split>/
labels/<name>.png`` with the official SFNet mapping (66 ids -> 19 classes,
the rest 255). The input tree is never modified. v2.0 labels (recognised
by their palette or by ids >= 66) are refused: the v1.2 table would give
them wrong classes. ``--unknown-ids-to-ignore`` writes ids >= 66 of labels
without a v2.0 palette as 255 instead (reported with pixel counts).
"""

import functools
import os
import os.path as osp

from sfseg.datasets import (
    MAPILLARY_NUM_IDS,
    MAPILLARY_TO_TRAIN,
    LabelConversionError,
    convert_dataset,
    converter_main,
)
from sfseg.datasets.mapillary_version import check_mapillary_v1_label


def collect_pairs(root, out_root, splits):
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


def convert(
    root,
    out_root,
    splits=('training', 'validation'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
    unknown_ids_to_ignore=False,
):
    return convert_dataset(
        collect_pairs,
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


def add_arguments(parser):
    parser.add_argument(
        '--unknown-ids-to-ignore',
        action='store_true',
        help='write ids >= 66 as 255 instead of refusing the label '
        '(labels with a v2.0 palette are refused regardless)',
    )
    return ('unknown_ids_to_ignore',)


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0],
        convert,
        ('training', 'validation'),
        argv,
        add_arguments,
    )


if __name__ == '__main__':
    main()

"""IDD (India Driving Dataset) ``id`` labels -> 19 Cityscapes train ids.

    python tools/dataset_converters/idd.py IDD_ROOT OUT_ROOT \\
        [--nproc 2] [--splits train val] [--force] [--skip-bad]

Reads ``ROOT/leftImg8bit/<split>/<seq>/<id>_leftImg8bit.png`` and the
``id``-level maps ``ROOT/gtFine/<split>/<seq>/<id>_gtFine_labelids.png``
(values 0-39, made by IDD's ``createLabels.py --id-type id``; level3Id maps
would be silently wrong), writes ``OUT_ROOT/gtFine/<split>/<seq>/
<id>_gtFine_labelTrainIds.png`` with the official SFNet mapping. The input
tree is never modified.
"""

import os
import os.path as osp

from sfseg.datasets import (
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
    LabelConversionError,
    convert_dataset,
    converter_main,
)

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIX = '_gtFine_labelids.png'
OUT_SUFFIX = '_gtFine_labelTrainIds.png'


def collect_pairs(root, out_root, splits):
    if not osp.isdir(root):
        raise LabelConversionError(f'IDD root not found: {root}')
    pairs = []
    for split in splits:
        img_dir = osp.join(root, 'leftImg8bit', split)
        if not osp.isdir(img_dir):
            raise LabelConversionError(
                f'wrong layout: {img_dir} not found (expected '
                f'<root>/leftImg8bit/{split}/<seq>/*{IMG_SUFFIX})'
            )
        for seq in sorted(os.listdir(img_dir)):
            seq_dir = osp.join(img_dir, seq)
            if not osp.isdir(seq_dir):
                continue
            for name in sorted(os.listdir(seq_dir)):
                if not name.endswith(IMG_SUFFIX):
                    continue
                stem = name[: -len(IMG_SUFFIX)]
                label = osp.join(
                    root, 'gtFine', split, seq, stem + LABEL_SUFFIX
                )
                pairs.append(
                    (
                        label if osp.isfile(label) else None,
                        osp.join(seq_dir, name),
                        osp.join(
                            out_root, 'gtFine', split, seq, stem + OUT_SUFFIX
                        ),
                    )
                )
    return pairs


def convert(
    root,
    out_root,
    splits=('train', 'val'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
):
    return convert_dataset(
        collect_pairs,
        root,
        out_root,
        splits,
        IDD_TO_TRAIN,
        IDD_NUM_IDS,
        nproc,
        force,
        skip_bad,
        show_progress,
    )


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0], convert, ('train', 'val'), argv
    )


if __name__ == '__main__':
    main()

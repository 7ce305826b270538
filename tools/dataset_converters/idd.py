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

import argparse
import os
import os.path as osp
import sys

from sfseg.datasets import (
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
    LabelConversionError,
    convert_labels,
    format_report,
    make_lut,
    prepare_output,
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
    pairs = collect_pairs(root, out_root, splits)
    prepare_output(out_root, root, force)
    lut, known = make_lut(IDD_TO_TRAIN, IDD_NUM_IDS)
    return convert_labels(pairs, lut, known, nproc, skip_bad, show_progress)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root')
    parser.add_argument('out_root')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--force', action='store_true')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip and report missing / bad label files',
    )
    args = parser.parse_args(argv)
    try:
        report = convert(
            args.root,
            args.out_root,
            args.splits,
            args.nproc,
            args.force,
            args.skip_bad,
        )
    except LabelConversionError as err:
        sys.exit(f'error: {err}')
    print('\n' + format_report(report))


if __name__ == '__main__':
    main()

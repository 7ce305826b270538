"""IDD (India Driving Dataset) labels -> 19 Cityscapes train ids.

    python tools/dataset_converters/idd.py IDD_ROOT OUT_ROOT \\
        [--source auto|png|json] [--nproc 2] [--splits train val] \\
        [--force] [--skip-bad]

Reads ``ROOT/leftImg8bit/<split>/<seq>/<id>_leftImg8bit.png`` and, per
image, either the ``id``-level map ``ROOT/gtFine/<split>/<seq>/
<id>_gtFine_labelids.png`` (values 0-39, made by IDD's ``createLabels.py
--id-type id``; level3Id maps would be silently wrong) or the polygon
annotation ``<id>_gtFine_polygons.json`` of the IDD download, drawn at the
``id`` level as IDD's own tools do. ``--source auto`` (default) takes the
PNG when it exists, else the JSON. Writes ``OUT_ROOT/gtFine/<split>/<seq>/
<id>_gtFine_labelTrainIds.png`` with the official SFNet mapping. The input
tree is never modified.
"""

from functools import partial

from sfseg.datasets import (
    IDD_BACKGROUND_ID,
    IDD_NAMES,
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
    collect_nested_pairs,
    convert_dataset,
    converter_main,
)

IMG_SUFFIX = '_leftImg8bit.png'
PNG_SUFFIX = '_gtFine_labelids.png'
JSON_SUFFIX = '_gtFine_polygons.json'
OUT_SUFFIX = '_gtFine_labelTrainIds.png'
SOURCES = dict(
    auto=(PNG_SUFFIX, JSON_SUFFIX), png=(PNG_SUFFIX,), json=(JSON_SUFFIX,)
)


def collect_pairs(root, out_root, splits, source='auto'):
    return collect_nested_pairs(
        root,
        out_root,
        splits,
        dataset='IDD',
        img_dir='leftImg8bit',
        img_suffix=IMG_SUFFIX,
        label_dir='gtFine',
        label_suffixes=SOURCES[source],
        out_suffix=OUT_SUFFIX,
    )


def convert(
    root,
    out_root,
    splits=('train', 'val'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
    source='auto',
):
    return convert_dataset(
        partial(collect_pairs, source=source),
        root,
        out_root,
        splits,
        IDD_TO_TRAIN,
        IDD_NUM_IDS,
        nproc,
        force,
        skip_bad,
        show_progress,
        polygons=({n: i for i, n in enumerate(IDD_NAMES)}, IDD_BACKGROUND_ID),
    )


def add_arguments(parser):
    parser.add_argument(
        '--source',
        choices=sorted(SOURCES),
        default='auto',
        help='label input: id PNGs, polygon JSONs, or PNG else JSON',
    )
    return ('source',)


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0],
        convert,
        ('train', 'val'),
        argv,
        add_arguments,
    )


if __name__ == '__main__':
    main()

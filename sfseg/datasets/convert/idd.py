"""IDD (India Driving Dataset) labels -> 19 Cityscapes train ids.

Reads ``ROOT/leftImg8bit/<split>/<seq>/<id>_leftImg8bit.png`` and, per
image, either the ``id``-level map ``ROOT/gtFine/<split>/<seq>/
<id>_gtFine_labelids.png`` (values 0-39, made by IDD's ``createLabels.py
--id-type id``; level3Id maps would be silently wrong) or the polygon
annotation ``<id>_gtFine_polygons.json`` of the IDD download, drawn at the
``id`` level as IDD's own tools do. ``--source auto`` (default) takes the
PNG when it exists, else the JSON. Writes ``OUT_ROOT/gtFine/<split>/<seq>/
<id>_gtFine_labelTrainIds.png`` with the official SFNet mapping. The input
tree is never modified. ``tools/dataset_converters/idd.py`` is the
command line of :func:`convert_idd`.
"""

from functools import partial

from .common import collect_nested_pairs, convert_dataset
from .label_maps import (
    IDD_BACKGROUND_ID,
    IDD_NAMES,
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
)

IMG_SUFFIX = '_leftImg8bit.png'
PNG_SUFFIX = '_gtFine_labelids.png'
JSON_SUFFIX = '_gtFine_polygons.json'
OUT_SUFFIX = '_gtFine_labelTrainIds.png'
SOURCES = dict(
    auto=(PNG_SUFFIX, JSON_SUFFIX), png=(PNG_SUFFIX,), json=(JSON_SUFFIX,)
)


def collect_idd_pairs(root, out_root, splits, source='auto'):
    """(image, label, output) paths of the IDD ``splits`` under ``root``;
    ``source`` picks the label input (see the module docstring)."""
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


def convert_idd(
    root,
    out_root,
    splits=('train', 'val'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
    source='auto',
):
    """Convert the IDD labels under ``root`` into ``out_root``; returns
    :func:`~.label_convert.convert_dataset`'s report."""
    return convert_dataset(
        partial(collect_idd_pairs, source=source),
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

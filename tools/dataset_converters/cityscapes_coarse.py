"""Cityscapes coarse labels (labelIds) -> 19 train ids, for coarse boosting.

    python tools/dataset_converters/cityscapes_coarse.py CITYSCAPES_ROOT \\
        OUT_ROOT [--splits train_extra] [--nproc 2] [--force] [--skip-bad]

Reads ``ROOT/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` (the
``leftImg8bit_trainextra`` download) and ``ROOT/gtCoarse/<split>/<city>/
<name>_gtCoarse_labelIds.png`` (the ``gtCoarse`` download), writes
``OUT_ROOT/gtCoarse/<split>/<city>/<name>_gtCoarse_labelTrainIds.png``
with cityscapesscripts' labelId -> trainId table, as the official SFNet
code maps coarse labels before computing their class centroids. The input
tree is never modified. Use the output with ``ClassUniformDataset``'s
``boost_dataset`` (configs/sfnet_lite/*coarse-boost*).
"""

from sfseg.datasets.convert import (
    CITYSCAPES_NUM_IDS,
    cityscapes_label_to_train,
    collect_nested_pairs,
    convert_dataset,
    converter_main,
)

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIX = '_gtCoarse_labelIds.png'
OUT_SUFFIX = '_gtCoarse_labelTrainIds.png'


def collect_pairs(root, out_root, splits):
    return collect_nested_pairs(
        root,
        out_root,
        splits,
        dataset='Cityscapes',
        img_dir='leftImg8bit',
        img_suffix=IMG_SUFFIX,
        label_dir='gtCoarse',
        label_suffixes=(LABEL_SUFFIX,),
        out_suffix=OUT_SUFFIX,
    )


def convert(
    root,
    out_root,
    splits=('train_extra',),
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
        cityscapes_label_to_train(),
        CITYSCAPES_NUM_IDS,
        nproc,
        force,
        skip_bad,
        show_progress,
    )


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0], convert, ('train_extra',), argv
    )


if __name__ == '__main__':
    main()

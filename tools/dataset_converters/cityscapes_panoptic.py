"""Cityscapes gtFine -> the COCO-panoptic layout mmdet reads (K-Net).

    python tools/dataset_converters/cityscapes_panoptic.py CITYSCAPES_ROOT \\
        OUT_ROOT [--splits train val] [--nproc 2] [--copy-images] \\
        [--force] [--skip-bad]

Reads ``ROOT/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` and
``ROOT/gtFine/<split>/<city>/<name>_gtFine_instanceIds.png`` and writes::

    OUT_ROOT/annotations/cityscapes_panoptic_<split>.json
    OUT_ROOT/panoptic_<split>/<name>_leftImg8bit.png    (RGB-encoded ids)
    OUT_ROOT/images_<split>/<name>_leftImg8bit.png      (symlink or copy)

Segments follow cityscapesscripts' ``createPanopticImgs`` exactly (same
ids, categories = Cityscapes label ids, crowd flags, areas, boxes; checked
against it in the tests), with the fixes mmdet 3.x needs: the 8 thing
categories come first (mmdet numbers classes in JSON order and K-Net
takes labels < 8 as things), integer image ids, and flat folders where
the image and its panoptic PNG share one basename (``CocoPanopticDataset``
and ``CocoPanopticMetric`` derive the PNG name from the image name).
Several processes, a progress bar, and a report (images converted,
unknown label ids with pixel counts, images without labels, bad files).
The input tree is never modified.
"""

from sfseg.datasets.convert import converter_main
from sfseg.datasets.convert.cityscapes_panoptic import convert, summary


def copy_images(parser):
    parser.add_argument(
        '--copy-images',
        action='store_true',
        help='copy the images instead of symlinking them',
    )
    return ['copy_images']


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0],
        convert,
        ('train', 'val'),
        argv,
        add_arguments=copy_images,
        summary=summary,
    )


if __name__ == '__main__':
    main()

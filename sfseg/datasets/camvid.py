"""CamVid in its 11 classes (SegNet release), as in the official code."""

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin

CLASSES = (
    'sky', 'building', 'pole', 'road', 'sidewalk', 'tree', 'sign symbol',
    'fence', 'car', 'pedestrian', 'bicyclist',
)  # fmt: skip
PALETTE = [
    [128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
    [0, 0, 192], [128, 128, 0], [192, 128, 128], [64, 64, 128],
    [64, 0, 128], [64, 64, 0], [0, 128, 192],
]  # fmt: skip


@DATASETS.register_module()
class CamVidDataset(CheckedSegDatasetMixin, BaseSegDataset):
    """CamVid, 11 classes, SegNet layout (official ``datasets/camvid.py``).

    ``<root>/{train,val,test}/<name>.png`` images and
    ``<root>/{train,val,test}annot/<name>.png`` labels with values 0-10 and
    11 = void (367 / 101 / 233 images in the SegNet release). The label
    files list void as a 12th class; the dataset exposes the 11 real ones,
    so mmseg's label map turns void into 255 (ignored by the default loss
    and metric, as the official ``ignore_label = 11``). ``on_bad`` and
    ``check_files`` as in :class:`IDDDataset`.
    """

    METAINFO = dict(classes=CLASSES + ('void',), palette=PALETTE + [[0, 0, 0]])

    def __init__(
        self,
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=None,
        on_bad='raise',
        check_files=False,
        **kwargs,
    ):
        self.on_bad, self.check_files = on_bad, check_files
        if metainfo is None:
            metainfo = dict(classes=CLASSES, palette=PALETTE)
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            **kwargs,
        )

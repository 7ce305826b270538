"""IDD (India Driving Dataset) in the 19 Cityscapes classes."""

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin


@DATASETS.register_module()
class IDDDataset(CheckedSegDatasetMixin, BaseSegDataset):
    """IDD-Segmentation with labels converted to Cityscapes train ids.

    Images ``leftImg8bit/<split>/<seq>/<id>_leftImg8bit.png``; labels from
    ``tools/dataset_converters/idd.py`` (``<id>_gtFine_labelTrainIds.png``,
    a separate root: give ``data_prefix.seg_map_path`` as an absolute path
    or relative to ``data_root``). Shares Cityscapes' ``METAINFO`` so it
    concatenates with the other driving datasets.

    Args:
        on_bad (str): ``'raise'`` (default) stops on a missing or broken
            file naming it; ``'skip'`` drops such samples and logs them.
        check_files (bool): also read every image/label header (sizes,
            readability) when loading the list.
    """

    METAINFO = CityscapesDataset.METAINFO

    def __init__(
        self,
        img_suffix='_leftImg8bit.png',
        seg_map_suffix='_gtFine_labelTrainIds.png',
        on_bad='raise',
        check_files=False,
        **kwargs,
    ):
        self.on_bad, self.check_files = on_bad, check_files
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs
        )

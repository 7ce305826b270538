"""Mapillary Vistas mapped to the 19 Cityscapes classes."""

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin


@DATASETS.register_module()
class Mapillary19Dataset(CheckedSegDatasetMixin, BaseSegDataset):
    """Mapillary Vistas v1.2 with labels from
    ``tools/dataset_converters/mapillary.py`` (66 ids -> 19 train ids).

    Images ``<split>/images/<name>.jpg``, labels ``<split>/labels/<name>.png``
    under the converter's output root. Cityscapes ``METAINFO``. ``on_bad``
    and ``check_files`` as in :class:`IDDDataset`.
    """

    METAINFO = CityscapesDataset.METAINFO

    def __init__(
        self,
        img_suffix='.jpg',
        seg_map_suffix='.png',
        on_bad='raise',
        check_files=False,
        **kwargs,
    ):
        self.on_bad, self.check_files = on_bad, check_files
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs
        )

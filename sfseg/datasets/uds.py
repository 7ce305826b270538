"""UDS: the union of four driving datasets in the 19 Cityscapes classes."""

from mmengine.dataset import ConcatDataset
from mmseg.registry import DATASETS

from .checks import full_init_checked

SOURCES = ('bdd', 'mapillary', 'idd', 'cityscapes')


@DATASETS.register_module()
class UDSDataset(ConcatDataset):
    """Unified Driving Segmentation (official ``MergeDrivingDataset``).

    Concatenates the given sources in the official order (BDD, Mapillary,
    IDD, Cityscapes) and tags every sample with its source name
    (``data_info['source']``; add ``'source'`` to ``PackSegInputs``'
    ``meta_keys`` so metrics such as :class:`UDSIoUMetric` can read it).
    All sources must share the 19-class Cityscapes ``METAINFO``, which
    mmengine's ``ConcatDataset`` checks.

    Args:
        sources (dict): source name -> dataset config; any subset of
            ``bdd``, ``mapillary``, ``idd``, ``cityscapes``, plus custom
            names (appended after the official four).
        on_bad (str): ``'raise'`` (default) stops on a missing folder or a
            missing / broken label file, naming it; ``'skip'`` drops bad
            samples and logs them (missing folders always raise).
        check_files (bool): also read every image/label header (sizes,
            readability) when loading the lists.
    """

    def __init__(
        self,
        sources,
        on_bad='raise',
        check_files=False,
        lazy_init=False,
        ignore_keys=None,
    ):
        if not sources:
            raise ValueError('UDSDataset needs at least one source')
        self.on_bad, self.check_files = on_bad, check_files
        order = [s for s in SOURCES if s in sources]
        order += [s for s in sources if s not in SOURCES]
        datasets = []
        for name in order:
            cfg = dict(sources[name])
            cfg['serialize_data'] = False  # the tag is added per sample
            cfg['lazy_init'] = True
            datasets.append(DATASETS.build(cfg))
        self.source_names = order
        super().__init__(
            datasets, lazy_init=lazy_init, ignore_keys=ignore_keys
        )

    def full_init(self):
        if self._fully_initialized:
            return
        self.skipped = {}
        for name, dataset in zip(self.source_names, self.datasets):
            self.skipped[name] = full_init_checked(
                dataset,
                f'UDS source {name} ({type(dataset).__name__})',
                self.on_bad,
                self.check_files,
            )
            for info in dataset.data_list:
                info['source'] = name
        super().full_init()

    def source_of(self, idx):
        dataset_idx, _ = self._get_ori_dataset_idx(idx)
        return self.source_names[dataset_idx]

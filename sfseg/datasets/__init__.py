from .camvid import CamVidDataset
from .checks import (
    CheckedSegDatasetMixin,
    DatasetInputError,
    check_data_list,
    check_layout,
    full_init_checked,
    out_of_range_ids,
)
from .class_uniform import (
    ClassUniformDataset,
    SFCentroidCrop,
    SFInfiniteSampler,
)
from .idd import IDDDataset
from .label_convert import (
    LabelConversionError,
    check_bad,
    check_missing,
    collect_nested_pairs,
    convert_dataset,
    convert_labels,
    converter_main,
    format_report,
    image_size,
    is_within,
    prepare_output,
    run_tasks,
)
from .label_maps import (
    CITYSCAPES_NUM_IDS,
    IDD_BACKGROUND_ID,
    IDD_NAMES,
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
    MAPILLARY_NUM_IDS,
    MAPILLARY_TO_TRAIN,
    cityscapes_label_to_train,
    make_lut,
)
from .mapillary19 import Mapillary19Dataset
from .sample_guard import BadSampleError, SFSampleGuard, guard_pipelines
from .size_and_crop import SFRandomSizeAndCrop
from .transforms import (
    SFCenterCropPad,
    SFColorJitter,
    SFGaussianBlur,
    SFRandomRescale,
    SFResizeHeight,
    SFScoreAtInputSize,
)
from .uds import UDSDataset

__all__ = [
    'BadSampleError',
    'CamVidDataset',
    'CheckedSegDatasetMixin',
    'ClassUniformDataset',
    'SFInfiniteSampler',
    'DatasetInputError',
    'IDDDataset',
    'Mapillary19Dataset',
    'SFCenterCropPad',
    'SFCentroidCrop',
    'SFColorJitter',
    'SFGaussianBlur',
    'SFRandomRescale',
    'SFRandomSizeAndCrop',
    'SFSampleGuard',
    'SFResizeHeight',
    'SFScoreAtInputSize',
    'UDSDataset',
    'CITYSCAPES_NUM_IDS',
    'IDD_BACKGROUND_ID',
    'IDD_NAMES',
    'IDD_NUM_IDS',
    'IDD_TO_TRAIN',
    'LabelConversionError',
    'MAPILLARY_NUM_IDS',
    'MAPILLARY_TO_TRAIN',
    'check_bad',
    'check_data_list',
    'check_missing',
    'check_layout',
    'cityscapes_label_to_train',
    'collect_nested_pairs',
    'convert_dataset',
    'convert_labels',
    'converter_main',
    'format_report',
    'full_init_checked',
    'guard_pipelines',
    'image_size',
    'is_within',
    'make_lut',
    'out_of_range_ids',
    'prepare_output',
    'run_tasks',
]

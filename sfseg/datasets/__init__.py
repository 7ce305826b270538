from .camvid import CamVidDataset
from .checks import (
    CheckedSegDatasetMixin,
    DatasetInputError,
    check_data_list,
    check_layout,
    full_init_checked,
)
from .class_uniform import ClassUniformDataset, SFCentroidCrop
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
    'CamVidDataset',
    'CheckedSegDatasetMixin',
    'ClassUniformDataset',
    'DatasetInputError',
    'IDDDataset',
    'Mapillary19Dataset',
    'SFCenterCropPad',
    'SFCentroidCrop',
    'SFColorJitter',
    'SFGaussianBlur',
    'SFRandomRescale',
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
    'make_lut',
    'prepare_output',
    'run_tasks',
]

from .class_uniform import ClassUniformDataset, SFCentroidCrop
from .idd import IDDDataset
from .label_convert import (
    LabelConversionError,
    convert_dataset,
    convert_labels,
    converter_main,
    format_report,
    prepare_output,
)
from .label_maps import (
    IDD_NUM_IDS,
    IDD_TO_TRAIN,
    MAPILLARY_NUM_IDS,
    MAPILLARY_TO_TRAIN,
    cityscapes_label_to_train,
    make_lut,
)
from .mapillary19 import Mapillary19Dataset
from .uds import UDSDataset

__all__ = [
    'ClassUniformDataset',
    'SFCentroidCrop',
    'IDDDataset',
    'Mapillary19Dataset',
    'UDSDataset',
    'IDD_NUM_IDS',
    'IDD_TO_TRAIN',
    'LabelConversionError',
    'MAPILLARY_NUM_IDS',
    'MAPILLARY_TO_TRAIN',
    'cityscapes_label_to_train',
    'convert_dataset',
    'convert_labels',
    'converter_main',
    'format_report',
    'make_lut',
    'prepare_output',
]

"""Label conversion behind the thin converters of
``tools/dataset_converters/``: the shared machinery (:mod:`.common`:
pairs of images and labels, parallel conversion with a report, named
errors), the label maps (:mod:`.label_maps`), and the IDD and Mapillary
conversions to the 19 Cityscapes classes."""

from .common import (
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

__all__ = [
    'CITYSCAPES_NUM_IDS',
    'IDD_BACKGROUND_ID',
    'IDD_NAMES',
    'IDD_NUM_IDS',
    'IDD_TO_TRAIN',
    'LabelConversionError',
    'MAPILLARY_NUM_IDS',
    'MAPILLARY_TO_TRAIN',
    'check_bad',
    'check_missing',
    'cityscapes_label_to_train',
    'collect_nested_pairs',
    'convert_dataset',
    'convert_labels',
    'converter_main',
    'format_report',
    'image_size',
    'is_within',
    'make_lut',
    'prepare_output',
    'run_tasks',
]

"""Source label ids -> the 19 Cityscapes train ids used by UDS.

Tables follow the official SFNet code (``utils/mapillary_to_city.py``
and ``datasets/idd_labels.py``); every id not listed maps to 255 (ignore).
"""

import numpy as np

IGNORE = 255

# Mapillary Vistas v1.1 / v1.2 label id (config.json order, 66 labels).
# Curb -> sidewalk, lane markings and manholes -> road, the three rider
# kinds -> rider, utility poles -> pole, only traffic-sign fronts -> sign,
# on-rails -> train.
MAPILLARY_TO_TRAIN = {
    2: 1,  # construction--barrier--curb -> sidewalk
    3: 4,  # construction--barrier--fence -> fence
    6: 3,  # construction--barrier--wall -> wall
    13: 0,  # construction--flat--road -> road
    15: 1,  # construction--flat--sidewalk -> sidewalk
    17: 2,  # construction--structure--building -> building
    19: 11,  # human--person -> person
    20: 12,  # human--rider--bicyclist -> rider
    21: 12,  # human--rider--motorcyclist -> rider
    22: 12,  # human--rider--other-rider -> rider
    24: 0,  # marking--general -> road
    27: 10,  # nature--sky -> sky
    29: 9,  # nature--terrain -> terrain
    30: 8,  # nature--vegetation -> vegetation
    41: 0,  # object--manhole -> road
    45: 5,  # object--support--pole -> pole
    47: 5,  # object--support--utility-pole -> pole
    48: 6,  # object--traffic-light -> traffic light
    50: 7,  # object--traffic-sign--front -> traffic sign
    52: 18,  # object--vehicle--bicycle -> bicycle
    54: 15,  # object--vehicle--bus -> bus
    55: 13,  # object--vehicle--car -> car
    57: 17,  # object--vehicle--motorcycle -> motorcycle
    58: 16,  # object--vehicle--on-rails -> train
    61: 14,  # object--vehicle--truck -> truck
}
MAPILLARY_NUM_IDS = 66

# IDD ``id`` level (0-39, ``*_gtFine_labelids.png``), NOT level3Id.
# "non-drivable fallback" -> terrain; parking, rail track, autorickshaw,
# caravan, trailer, curb, guard rail, billboard, bridge, tunnel, ... -> 255.
IDD_TO_TRAIN = {
    0: 0,  # road
    3: 1,  # sidewalk
    5: 9,  # non-drivable fallback -> terrain
    6: 11,  # person
    8: 12,  # rider
    9: 17,  # motorcycle
    10: 18,  # bicycle
    12: 13,  # car
    13: 14,  # truck
    14: 15,  # bus
    17: 16,  # train
    20: 3,  # wall
    21: 4,  # fence
    24: 7,  # traffic sign
    25: 6,  # traffic light
    26: 5,  # pole
    29: 2,  # building
    32: 8,  # vegetation
    33: 10,  # sky
}
IDD_NUM_IDS = 40
# IDD label names by ``id`` (AutoNUE ``anue_labels.py``), used to rasterise
# the ``*_gtFine_polygons.json`` annotations; unlabelled pixels get id 35.
IDD_NAMES = (
    'road', 'parking', 'drivable fallback', 'sidewalk', 'rail track',
    'non-drivable fallback', 'person', 'animal', 'rider', 'motorcycle',
    'bicycle', 'autorickshaw', 'car', 'truck', 'bus', 'caravan', 'trailer',
    'train', 'vehicle fallback', 'curb', 'wall', 'fence', 'guard rail',
    'billboard', 'traffic sign', 'traffic light', 'pole', 'polegroup',
    'obs-str-bar-fallback', 'building', 'bridge', 'tunnel', 'vegetation',
    'sky', 'fallback background', 'unlabeled', 'ego vehicle',
    'rectification border', 'out of roi', 'license plate',
)  # fmt: skip
IDD_BACKGROUND_ID = IDD_NAMES.index('unlabeled')


def cityscapes_label_to_train():
    """Cityscapes labelId -> trainId, from cityscapesscripts' own table."""
    from cityscapesscripts.helpers.labels import labels

    return {
        label.id: label.trainId
        for label in labels
        if label.id >= 0 and label.trainId not in (IGNORE, -1)
    }


CITYSCAPES_NUM_IDS = 34


def make_lut(mapping, num_ids):
    """256-entry uint8 lookup table; unmapped ids -> 255.

    Returns ``(lut, known)`` where ``known[i]`` says whether ``i`` is a valid
    source id (mapped or deliberately ignored); others are reported.
    """
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for src, dst in mapping.items():
        lut[src] = dst
    known = np.zeros(256, dtype=bool)
    known[:num_ids] = True
    return lut, known

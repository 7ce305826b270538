# SF-STDCv1 (STDC1 + SFNet aligned FPN) + K-Net, COCO panoptic, 36 epochs,
# multi-scale training (the paper's COCO pre-training for Table 15).
_base_ = [
    './_base_/knet-s3_sf-stdc1_panoptic.py',
    './_base_/datasets/coco_panoptic_ms.py',
    './_base_/schedules/knet_adamw-36e.py',
    'mmdet::_base_/default_runtime.py',
]

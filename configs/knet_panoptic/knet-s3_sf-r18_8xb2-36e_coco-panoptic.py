# SF-ResNet-18 (ResNet-18-D + SFNet aligned FPN) + K-Net, COCO panoptic,
# 36 epochs, multi-scale training. Small SFNet + K-Net model; the tests
# train it on a synthetic COCO-panoptic set.
_base_ = [
    './_base_/knet-s3_sf-r18_panoptic.py',
    './_base_/datasets/coco_panoptic_ms.py',
    './_base_/schedules/knet_adamw-36e.py',
    'mmdet::_base_/default_runtime.py',
]

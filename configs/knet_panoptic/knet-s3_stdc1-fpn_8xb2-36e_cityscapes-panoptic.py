# STDCv1 + FPN + K-Net, Cityscapes panoptic (8 things, 11 stuff),
# fine-tuned for 36 epochs from the COCO model (SFNet-Lite paper Table 15:
# COCO pre-training, rescale 0.5-2.0, whole-image crop, batch 16, single
# scale test). Train the COCO config first; the class-dependent tensors
# (rpn_head.conv_seg, which also holds the stuff kernels, and every stage's
# fc_cls) differ in size and are re-initialised by the non-strict load.
_base_ = [
    './_base_/knet-s3_stdc1-fpn_panoptic.py',
    './_base_/datasets/cityscapes_panoptic.py',
    './_base_/schedules/knet_adamw-36e.py',
    'mmdet::_base_/default_runtime.py',
]
load_from = 'work_dirs/knet-s3_stdc1-fpn_8xb2-36e_coco-panoptic/epoch_36.pth'

num_things_classes = 8
num_stuff_classes = 11
class_split = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
)
model = dict(
    **class_split,
    rpn_head=class_split,
    roi_head=dict(
        **class_split,
        mask_head=[
            dict(h, **class_split) for h in _base_.model.roi_head.mask_head
        ],
    ),
    panoptic_fusion_head=class_split,
)

# SFNet-R18 fine-tuned on CamVid (11 classes) from UDS pre-training. Paper
# Table 14: 73.8 mIoU from ImageNet, 76.5 from UDS (CamVid test). The
# official repo has no CamVid script: batch 16, 10k iterations, lr 0.01,
# poly, OHEM at 720x960 are sfseg's choice, not a published recipe.
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/camvid_720x960.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (720, 960)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        num_classes=11,
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
# no official CamVid script: poly decay per iteration to 0 at max_iters
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, by_epoch=False)
]
train_cfg = dict(max_iters=10000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))
# UDS-pretrained weights; train the UDS config first:
# configs/sfnet/sfnet_r18-d32_8xb4-131k_uds-1024x1024.py
# The 19-class classifier does not fit the 11 CamVid classes: mmengine
# loads the rest non-strictly, warns about conv_seg and keeps its fresh
# initialisation.
load_from = 'work_dirs/sfnet_r18-d32_8xb4-131k_uds-1024x1024/iter_131040.pth'

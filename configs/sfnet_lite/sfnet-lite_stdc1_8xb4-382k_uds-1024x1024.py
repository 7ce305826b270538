# SFNet-Lite-STDC1 on UDS (official train_merged_sfnet_v2_stdc_v1.sh:
# 8 GPUs x 4, lr 0.02, 350 epochs = 382k iterations, CriterionSFNet,
# class-uniform 50 %). Paper Table 7: 74.8 mIoU (UDS, 1024x2048).
_base_ = [
    '../_base_/models/sfnet-lite_stdc1.py',
    '../_base_/datasets/uds_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# official poly 1.0 stepped per epoch: 350 epochs of 1092 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=1092, max_epochs=350)
]
train_cfg = dict(max_iters=382200, val_interval=38220)
default_hooks = dict(checkpoint=dict(interval=38220))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

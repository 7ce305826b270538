# SFNet-STDC1 on UDS (official scripts/uds/train_merged_sfnet_v1_stdc_v1.sh:
# 8 GPUs x 4, lr 0.02, 120 epochs = 131k iterations, OHEM 0.7 / 10k,
# class-uniform 50 %). The UDS starting point of the CamVid fine-tuning.
_base_ = [
    '../_base_/models/sfnet_stdc1.py',
    '../_base_/datasets/uds_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# official poly 1.0 stepped per epoch: 120 epochs of 1092 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=1092, max_epochs=120)
]
train_cfg = dict(max_iters=131040, val_interval=13104)
default_hooks = dict(checkpoint=dict(interval=13104))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

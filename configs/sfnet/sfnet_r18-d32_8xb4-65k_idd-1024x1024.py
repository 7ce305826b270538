# SFNet-R18 on IDD in the 19 Cityscapes classes (official
# scripts/idd/train_idd_sfnet_res18.sh: 8 GPUs x 4, lr 0.01, 300 epochs =
# 65.4k iterations, OHEM, class-uniform 50 %). Paper Table 5: 76.8 mIoU
# (IDD val, 1080x1920).
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/idd_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
# official poly 1.0 stepped per epoch: 300 epochs of 218 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=218, max_epochs=300)
]
train_cfg = dict(max_iters=65400, val_interval=6540)
default_hooks = dict(checkpoint=dict(interval=6540))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

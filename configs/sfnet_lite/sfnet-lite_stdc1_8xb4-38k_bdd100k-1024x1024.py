# SFNet-Lite-STDC1 on BDD100K with the official STDC recipe
# (train_bdd_sfnet_v2_stdc_v2.sh: 8 GPUs x 4, lr 0.02, 350 epochs; its
# class-uniform epochs halve because 720p images have no 1024 tiles, so
# 38.15k iterations). The paper reports STDC-2 only (Table 6).
_base_ = [
    '../_base_/models/sfnet-lite_stdc1.py',
    '../_base_/datasets/bdd100k_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# official poly 1.0 stepped per epoch: 350 epochs of 109 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=109, max_epochs=350)
]
train_cfg = dict(max_iters=38150, val_interval=3815)
default_hooks = dict(checkpoint=dict(interval=3815))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

# SFNet-Lite-STDC1 on Mapillary Vistas v1.2, 65 classes (official
# train_mapillary_sfnet_v2_stdc_v1.sh: same recipe as Lite-R18). The paper
# reports STDC-2 only (Table 4).
_base_ = [
    '../_base_/models/sfnet-lite_stdc1.py',
    '../_base_/datasets/mapillary_v1_65_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        num_classes=65,
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# official poly 1.0 stepped per epoch: 350 epochs of 562 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=562, max_epochs=350)
]
train_cfg = dict(max_iters=196700, val_interval=19670)
default_hooks = dict(checkpoint=dict(interval=19670))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

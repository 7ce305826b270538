# SFNet-Lite-R18 on Mapillary Vistas v1.2, 65 classes (official
# train_mapillary_sfnet_res18_v2.sh: 8 GPUs x 4, lr 0.02, 350 epochs =
# 196.7k iterations, CriterionSFNet, class-uniform 50 %). Paper Table 4:
# 46.3 mIoU (val, height 1536, centre crop 1536x1536).
_base_ = [
    '../_base_/models/sfnet-lite_r18.py',
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

# SFNet-R18 on BDD100K (official scripts/bdd/train_bdd_sfnet_res18.sh:
# 8 GPUs x 4, lr 0.01, 300 epochs = 65.4k iterations, OHEM, no
# class-uniform sampling). Paper Table 6: 60.6 mIoU (BDD val, 720x1280).
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/bdd100k_1024x1024.py',
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

# SFNet-Lite-R18 on BDD100K (official train_bdd_sfnet_res18_v2.sh: 8 GPUs
# x 4, lr 0.02, 350 epochs = 76.3k iterations, CriterionSFNet, no
# class-uniform sampling). Paper Table 6: 60.6 mIoU (BDD val, 720x1280).
_base_ = [
    '../_base_/models/sfnet-lite_r18.py',
    '../_base_/datasets/bdd100k_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# official poly 1.0 stepped per epoch: 350 epochs of 218 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=218, max_epochs=350)
]
train_cfg = dict(max_iters=76300, val_interval=7630)
default_hooks = dict(checkpoint=dict(interval=7630))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images

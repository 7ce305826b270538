# SFNet-Lite-R18 on Cityscapes with the official long recipe (scripts/
# cityscacpes/train_cityscapes_sfnet_res18_v2_lite_1000e_coarse_boost.sh:
# 8 GPUs x 2, lr 0.01, 1000 epochs = 186k iterations, CriterionSFNet,
# class-uniform 50 % with coarse boosting of truck, bus, train, wall,
# rider, motorcycle, fence). Paper Table 10 (val): 78.3 base, 78.6 with
# uniform sampling, 79.0 with 1000 epochs, 79.7 with coarse boosting.
_base_ = [
    '../_base_/models/sfnet-lite_r18.py',
    '../_base_/datasets/cityscapes-coarse-boost_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
# official poly 1.0 stepped per epoch: 1000 epochs of 186 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=186, max_epochs=1000)
]
train_cfg = dict(max_iters=186000, val_interval=18600)
default_hooks = dict(checkpoint=dict(interval=18600))

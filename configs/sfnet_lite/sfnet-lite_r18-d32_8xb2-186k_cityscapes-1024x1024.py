_base_ = [
    '../_base_/models/sfnet-lite_r18.py',
    '../_base_/datasets/cityscapes_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_sgd-epoch-poly.py',
]
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
)
# official poly 1.0 stepped per epoch: 1000 epochs of 186 iterations
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=186, max_epochs=1000)
]
train_cfg = dict(max_iters=186000, val_interval=18600)
default_hooks = dict(checkpoint=dict(interval=18600))

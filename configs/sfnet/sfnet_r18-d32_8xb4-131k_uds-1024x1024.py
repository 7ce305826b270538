# SFNet-R18 on UDS (BDD + Mapillary + IDD + Cityscapes, 19 classes). The
# official repo has no SFNet-R18 UDS script: this takes its UDS schedule
# (8 GPUs x 4, 120 epochs = 131k iterations, class-uniform 50 %) with the
# SFNet-R18 lr 0.01 and OHEM. Paper Table 7: 76.5 mIoU (UDS, 1024x2048).
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/uds_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_50k.py',
]
crop_size = (1024, 1024)
# Official --ohem: keep pixels with p_gt <= 0.7, at least 10k per GPU.
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000),
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
# poly decay to 0 at max_iters (schedule_50k.py leaves 'end' to the Runner)
train_cfg = dict(max_iters=131040, val_interval=13104)
default_hooks = dict(checkpoint=dict(interval=13104))

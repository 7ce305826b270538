# SFNet-R18 on Mapillary Vistas v1.2, 65 classes (official
# scripts/mapillary/train_mapillary_sfnet_res18.sh: 8 GPUs x 4, lr 0.01,
# 300 epochs = 168.6k iterations, OHEM, class-uniform 50 %). Paper Table 4:
# 46.5 mIoU (val, resized to height 1536 and centre-cropped to 1536x1536).
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/mapillary_v1_65_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_50k.py',
]
crop_size = (1024, 1024)
# Official --ohem: keep pixels with p_gt <= 0.7, at least 10k per GPU.
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        num_classes=65,
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000),
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
# poly decay to 0 at max_iters (schedule_50k.py leaves 'end' to the Runner)
train_cfg = dict(max_iters=168600, val_interval=16860)
default_hooks = dict(checkpoint=dict(interval=16860))

# SFNet-R18 on BDD100K (official scripts/bdd/train_bdd_sfnet_res18.sh:
# 8 GPUs x 4, lr 0.01, 300 epochs = 65.4k iterations, OHEM, no
# class-uniform sampling). Paper Table 6: 60.6 mIoU (BDD val, 720x1280).
_base_ = [
    '../_base_/models/sfnet_r18.py',
    '../_base_/datasets/bdd100k_1024x1024.py',
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
train_cfg = dict(max_iters=65400, val_interval=6540)
default_hooks = dict(checkpoint=dict(interval=6540))

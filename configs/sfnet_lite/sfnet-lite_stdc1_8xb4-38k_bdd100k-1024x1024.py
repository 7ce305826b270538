# SFNet-Lite-STDC1 on BDD100K with the official STDC recipe
# (train_bdd_sfnet_v2_stdc_v2.sh: 8 GPUs x 4, lr 0.02, 350 epochs; its
# class-uniform epochs halve because 720p images have no 1024 tiles, so
# 38.15k iterations). The paper reports STDC-2 only (Table 6).
_base_ = [
    '../_base_/models/sfnet-lite_stdc1.py',
    '../_base_/datasets/bdd100k_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_50k.py',
]
crop_size = (1024, 1024)
# Official CriterionSFNet: OHEM thresh 0.7, min_kept 100k.
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000),
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# poly decay to 0 at max_iters (schedule_50k.py leaves 'end' to the Runner)
train_cfg = dict(max_iters=38150, val_interval=3815)
default_hooks = dict(checkpoint=dict(interval=3815))

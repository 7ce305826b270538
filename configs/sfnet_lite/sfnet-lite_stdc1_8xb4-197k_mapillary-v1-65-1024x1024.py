# SFNet-Lite-STDC1 on Mapillary Vistas v1.2, 65 classes (official
# train_mapillary_sfnet_v2_stdc_v1.sh: same recipe as Lite-R18). The paper
# reports STDC-2 only (Table 4).
_base_ = [
    '../_base_/models/sfnet-lite_stdc1.py',
    '../_base_/datasets/mapillary_v1_65_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_50k.py',
]
crop_size = (1024, 1024)
# Official CriterionSFNet: OHEM thresh 0.7, min_kept 100k.
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        num_classes=65,
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000),
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.02))
# poly decay to 0 at max_iters (schedule_50k.py leaves 'end' to the Runner)
train_cfg = dict(max_iters=196700, val_interval=19670)
default_hooks = dict(checkpoint=dict(interval=19670))

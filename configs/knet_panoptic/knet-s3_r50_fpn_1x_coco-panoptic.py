# K-Net R50-FPN, COCO panoptic, 1x (official recipe; 44.3 PQ on val2017).
_base_ = [
    './_base_/knet-s3_r50_fpn_panoptic.py',
    'mmdet::_base_/datasets/coco_panoptic.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

# AdamW 1e-4 (batch 16), backbone lr x0.25, L2 grad clip 1.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}),
    clip_grad=dict(max_norm=1, norm_type=2),
)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000
    ),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1,
    ),
]
val_evaluator = dict(nproc=2)
test_evaluator = val_evaluator

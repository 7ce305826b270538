# Demo / smoke-test config: SFNet-Lite-R18 trained from scratch on the
# procedural toy driving set (tools/dataset_converters/toy_driving.py) on
# CPU. Plain BN, whole-image evaluation with mmseg's IoUMetric. Sized for a
# 2-core CPU: 96x192 crops and no photometric distortion (the toy classes
# are told apart by colour) reach the mIoU of 600 iterations at 128x256
# in less time.
_base_ = [
    '../_base_/models/sfnet-lite_r18.py',
    'mmseg::_base_/default_runtime.py',
]
crop_size = (96, 192)
norm_cfg = dict(type='BN', requires_grad=True)
data_root = 'data/toy_city/'
dataset_type = 'CityscapesDataset'
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),  # from scratch
    decode_head=dict(norm_cfg=norm_cfg),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.5, 1.0),
        keep_ratio=True,
    ),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'
        ),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'
        ),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 800
optim_wrapper = dict(
    type='SFOptimWrapper',  # a NaN / inf gradient stops training
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
)
# tools/train.py wraps the training set in SFSampleGuard (bad samples
# named, or replaced with on_bad='skip')
sample_guard = dict(on_bad='raise', max_bad=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=50,
        end=max_iters,
        by_epoch=False,
    ),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters
)
auto_scale_lr = dict(enable=False, base_batch_size=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='SFCheckpointHook', by_epoch=False, interval=max_iters
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
# Exact --resume: every rank's random streams go into the checkpoint, and
# checkpoints are written so that a kill never leaves a truncated one; on
# slurm, SIGUSR1 / SIGTERM checkpoint the current iteration and requeue.
custom_hooks = [
    dict(type='SFRandomStateHook'),
    dict(type='SFRequeueHook'),
    dict(type='SFCompileHook'),  # compile=True: the network, not the step
    dict(type='SFOfficialWeightsHook'),  # official files as load_from
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'),
)
randomness = dict(seed=0)

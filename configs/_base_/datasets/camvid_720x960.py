# CamVid, 11 classes (SegNet layout; void, label 11, becomes 255 through
# CamVidDataset's label map), as the official datasets/camvid.py. The
# official repo has no CamVid training script; this uses the SFNet protocol
# (rescale U(0.5, 2.0), crop, flip, colour jitter, blur) at the 720x960
# resolution common to real-time CamVid benchmarks.
dataset_type = 'CamVidDataset'
data_root = 'data/CamVid/'
crop_size = (720, 960)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(960, 720), keep_ratio=True),
    dict(type='SFRandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SFColorJitter'),  # official ColorJitter(0.25 x 4)
    dict(type='SFGaussianBlur'),  # official, always on
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(960, 720), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='test', seg_map_path='testannot'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

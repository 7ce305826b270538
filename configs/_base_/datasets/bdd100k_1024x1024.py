# BDD100K 10k semantic segmentation (19 Cityscapes classes, BDD's own
# train-id maps) with the official SFNet training protocol: every image
# rescaled by U(0.5, 2.0) of its own size, 1024x1024 crop, flip, colour
# jitter, blur. No class-uniform sampling (official BDD scripts: pct 0.0; BDD's
# 1280x720 images have no 1024 tiles). Evaluated at the original 720x1280.
dataset_type = 'BDD100KDataset'
data_root = 'data/bdd/'
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # official RandomSizeAndCrop: U(0.5, 2.0) of the own size, pad, crop
    dict(
        type='SFRandomSizeAndCrop', crop_size=crop_size, ratio_range=(0.5, 2.0)
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SFColorJitter'),  # official ColorJitter(0.25 x 4)
    dict(type='SFGaussianBlur'),  # official, always on
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/train', seg_map_path='labels/train'),
        seg_map_suffix='_train_id.png',
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
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        seg_map_suffix='_train_id.png',
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

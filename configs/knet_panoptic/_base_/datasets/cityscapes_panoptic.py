# Cityscapes panoptic (8 things, 11 stuff) in the COCO-panoptic layout
# written by tools/dataset_converters/cityscapes_panoptic.py: things listed
# first in the JSON (mmdet takes contiguous labels in JSON order and K-Net
# treats labels < 8 as things), flat image / panoptic PNG folders with the
# same basenames (what CocoPanopticDataset and CocoPanopticMetric expect).
# Train: rescale 0.5-2.0 of 2048x1024, crop of the whole image size, flip
# (the paper's fine-tuning); test at 2048x1024, single scale.
dataset_type = 'CocoPanopticDataset'
data_root = 'data/cityscapes_panoptic/'
metainfo = dict(
    classes=(
        'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
        'bicycle', 'road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
        'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
    ),
    thing_classes=(
        'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
        'bicycle',
    ),
    stuff_classes=(
        'road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
        'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
    ),
    palette=[
        (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
        (0, 80, 100), (0, 0, 230), (119, 11, 32), (128, 64, 128),
        (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
        (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35),
        (152, 251, 152), (70, 130, 180),
    ],
)  # fmt: skip
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadPanopticAnnotations', backend_args=backend_args),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True,
    ),
    dict(
        type='RandomCrop',
        crop_size=(2048, 1024),  # mmdet reads (width, height)
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True,
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadPanopticAnnotations', backend_args=backend_args),
    dict(
        type='PackDetInputs',
        meta_keys=(
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
        ),
    ),  # fmt: skip
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/cityscapes_panoptic_train.json',
        data_prefix=dict(img='images_train/', seg='panoptic_train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/cityscapes_panoptic_val.json',
        data_prefix=dict(img='images_val/', seg='panoptic_val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoPanopticMetric',
    ann_file=data_root + 'annotations/cityscapes_panoptic_val.json',
    seg_prefix=data_root + 'panoptic_val/',
    nproc=2,
    backend_args=backend_args,
)
test_evaluator = val_evaluator

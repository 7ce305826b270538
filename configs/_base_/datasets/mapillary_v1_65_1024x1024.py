# Mapillary Vistas v1.2 in its 65 classes (label 65 'Unlabeled' ignored),
# as the official standalone Mapillary training and the paper's Table 4.
# Train: class-uniform sampling (50 %, 1024 tiles), rescale U(0.5, 2.0) of
# the image's own size, 1024x1024 crop, flip, colour jitter, blur. Evaluation
# follows the official protocol: resize to height 1536 (aspect kept),
# centre crop / pad to 1536x1536, score at that size (SFScoreAtInputSize).
_base_ = 'mmseg::_base_/datasets/mapillary_v1_65.py'
dataset_type = 'MapillaryDataset_v1'
data_root = 'data/mapillary/'
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
    dict(type='SFResizeHeight', height=1536),
    # official pads labels with 0; seg_pad_val=0 reproduces that exactly
    dict(type='SFCenterCropPad', size=1536, seg_pad_val=255),
    dict(type='SFScoreAtInputSize'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    sampler=dict(type='SFInfiniteSampler', shuffle=True),  # passes -> draws
    batch_size=4,
    dataset=dict(
        _delete_=True,
        type='ClassUniformDataset',
        uniform_ratio=0.5,
        tile=1024,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            metainfo={{_base_.metainfo}},
            data_prefix=dict(
                img_path='training/images',
                seg_map_path='training/v1.2/labels',
            ),
            pipeline=train_pipeline,
        ),
    ),
)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric that also reports label ids outside the classes
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

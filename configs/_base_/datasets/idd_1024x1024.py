# IDD-Segmentation in the 19 Cityscapes classes (labels from
# tools/dataset_converters/idd.py) with the official SFNet protocol:
# class-uniform sampling (50 %, 1024 tiles), rescale U(0.5, 2.0) of the
# image's own size, 1024x1024 crop, flip, colour jitter, blur. Evaluated at the
# original resolution (1080x1920; some IDD images are 720x1280).
dataset_type = 'IDDDataset'
data_root = 'data/IDD/'
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
    sampler=dict(type='SFInfiniteSampler', shuffle=True),  # passes -> draws
    dataset=dict(
        type='ClassUniformDataset',
        uniform_ratio=0.5,
        tile=1024,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(
                img_path='leftImg8bit/train',
                seg_map_path='../IDD19/gtFine/train',
            ),
            pipeline=train_pipeline,
        ),
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
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='../IDD19/gtFine/val'
        ),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

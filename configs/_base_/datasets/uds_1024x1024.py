# Unified Driving Segmentation: BDD100K + Mapillary + IDD + Cityscapes in the
# 19 Cityscapes classes (official MergeDrivingDataset). Prepare the labels
# with tools/dataset_converters/{mapillary,idd}.py and check the roots with
# tools/dataset_converters/uds.py; see docs/datasets.md.
# Train: class-uniform sampling over the union (50 %, 1024 tiles), every
# image rescaled by U(0.5, 2.0) of its own size, 1024x1024 crop, flip,
# colour jitter, blur. Evaluation: every image and label resized to 2048x1024
# (official ResizeHW, bicubic / nearest) and scored at that size, mIoU
# overall (one confusion matrix) and per source (UDSIoUMetric). Needs
# custom_imports=dict(imports=['sfseg']) (the sfseg model bases set it).
crop_size = (1024, 1024)
meta_keys = (
    'img_path',
    'seg_map_path',
    'ori_shape',
    'img_shape',
    'pad_shape',
    'scale_factor',
    'flip',
    'flip_direction',
    'reduce_zero_label',
    'source',
)
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
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='Resize',
        scale=(2048, 1024),
        keep_ratio=False,
        interpolation='bicubic',
    ),
    dict(type='SFScoreAtInputSize'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
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
            type='UDSDataset',
            sources=dict(
                bdd=dict(
                    type='BDD100KDataset',
                    data_root='data/bdd/',
                    data_prefix=dict(
                        img_path='images/train', seg_map_path='labels/train'
                    ),
                    seg_map_suffix='_train_id.png',
                    pipeline=train_pipeline,
                ),
                mapillary=dict(
                    type='Mapillary19Dataset',
                    data_root='data/mapillary/',
                    data_prefix=dict(
                        img_path='training/images',
                        seg_map_path='../mapillary19/training/labels',
                    ),
                    pipeline=train_pipeline,
                ),
                idd=dict(
                    type='IDDDataset',
                    data_root='data/IDD/',
                    data_prefix=dict(
                        img_path='leftImg8bit/train',
                        seg_map_path='../IDD19/gtFine/train',
                    ),
                    pipeline=train_pipeline,
                ),
                cityscapes=dict(
                    type='CityscapesDataset',
                    data_root='data/cityscapes/',
                    data_prefix=dict(
                        img_path='leftImg8bit/train',
                        seg_map_path='gtFine/train',
                    ),
                    pipeline=train_pipeline,
                ),
            ),
        ),
    ),
)

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='UDSDataset',
        sources=dict(
            bdd=dict(
                type='BDD100KDataset',
                data_root='data/bdd/',
                data_prefix=dict(
                    img_path='images/val', seg_map_path='labels/val'
                ),
                seg_map_suffix='_train_id.png',
                pipeline=test_pipeline,
            ),
            mapillary=dict(
                type='Mapillary19Dataset',
                data_root='data/mapillary/',
                data_prefix=dict(
                    img_path='validation/images',
                    seg_map_path='../mapillary19/validation/labels',
                ),
                pipeline=test_pipeline,
            ),
            idd=dict(
                type='IDDDataset',
                data_root='data/IDD/',
                data_prefix=dict(
                    img_path='leftImg8bit/val',
                    seg_map_path='../IDD19/gtFine/val',
                ),
                pipeline=test_pipeline,
            ),
            cityscapes=dict(
                type='CityscapesDataset',
                data_root='data/cityscapes/',
                data_prefix=dict(
                    img_path='leftImg8bit/val', seg_map_path='gtFine/val'
                ),
                pipeline=test_pipeline,
            ),
        ),
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='UDSIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

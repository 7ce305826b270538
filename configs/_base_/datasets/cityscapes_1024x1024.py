# Cityscapes fine with the official training data path (RandomSizeAndCrop
# + flip + ColorJitter + Gaussian blur, class-uniform sampling 50 % with
# 1024 tiles): every image rescaled by U(0.5, 2.0) of its own size (PIL
# bicubic / nearest), padded on both sides when smaller than the crop,
# 1024x1024 crop (around a class centroid for half of the samples), flip,
# colour jitter 0.25, blur; whole-image 1024x2048 evaluation as mmseg's.
_base_ = 'mmseg::_base_/datasets/cityscapes_1024x1024.py'
crop_size = (1024, 1024)
data_root = 'data/cityscapes/'
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
train_dataloader = dict(
    sampler=dict(type='SFInfiniteSampler', shuffle=True),  # passes -> draws
    dataset=dict(
        _delete_=True,
        type='ClassUniformDataset',
        uniform_ratio=0.5,
        tile=1024,
        dataset=dict(
            type='CityscapesDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path='leftImg8bit/train', seg_map_path='gtFine/train'
            ),
            pipeline=train_pipeline,
        ),
    ),
)
# mmseg's IoUMetric that also reports label ids outside the classes
val_evaluator = dict(type='SFIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

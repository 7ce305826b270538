# Cityscapes fine with the official class-uniform sampling (50 %, 1024
# tiles) and coarse boosting: the coarse train_extra set (19,998 images,
# labels from tools/dataset_converters/cityscapes_coarse.py) adds its
# centroids of 7 rare classes; a class-centred sample drawing one of them
# trains on that image with its coarse label. Rescale U(0.5, 2.0), 1024x1024
# crop, flip, colour jitter, blur; whole-image 1024x2048 evaluation.
_base_ = './cityscapes_1024x1024.py'
crop_size = (1024, 1024)
data_root = 'data/cityscapes/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='SFRandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='SFCentroidCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SFColorJitter'),  # official ColorJitter(0.25 x 4)
    dict(type='SFGaussianBlur'),  # official, always on
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
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
        # official --coarse_boost_classes 14,15,16,3,12,17,4
        boost_classes=[14, 15, 16, 3, 12, 17, 4],
        boost_dataset=dict(
            type='CityscapesDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path='leftImg8bit/train_extra',
                seg_map_path='../cityscapes_coarse19/gtCoarse/train_extra',
            ),
            seg_map_suffix='_gtCoarse_labelTrainIds.png',
            pipeline=[],  # boost samples go through the main pipeline
        ),
    )
)

# Cityscapes fine with the official class-uniform sampling (50 %, 1024
# tiles, from cityscapes_1024x1024.py) and coarse boosting: the coarse
# train_extra set (19,998 images, labels from
# tools/dataset_converters/cityscapes_coarse.py) adds its centroids of 7
# rare classes; a class-centred sample drawing one of them trains on that
# image with its coarse label. Same augmentation and evaluation as
# cityscapes_1024x1024.py.
_base_ = './cityscapes_1024x1024.py'
data_root = 'data/cityscapes/'
train_dataloader = dict(
    dataset=dict(
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

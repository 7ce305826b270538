# COCO panoptic (80 things + 53 stuff) with detectron2's multi-scale
# training: shorter side chosen from 640-800 (step 32), longer side <= 1333,
# flip. Test at (1333, 800). Everything else is mmdet's coco_panoptic.py.
_base_ = 'mmdet::_base_/datasets/coco_panoptic.py'
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadPanopticAnnotations', backend_args=backend_args),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, s) for s in range(640, 801, 32)],
        keep_ratio=True,
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# The metric's default 32 workers exceed most machines.
val_evaluator = dict(nproc=2)
test_evaluator = val_evaluator

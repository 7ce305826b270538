# Cityscapes with the official SFNet crop: random rescale 0.5-2.0, 1024x1024
# crop, flip, photometric jitter; whole-image 1024x2048 evaluation.
_base_ = 'mmseg::_base_/datasets/cityscapes_1024x1024.py'

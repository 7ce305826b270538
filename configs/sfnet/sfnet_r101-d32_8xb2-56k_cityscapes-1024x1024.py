_base_ = './sfnet_r50-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(backbone=dict(depth=101))

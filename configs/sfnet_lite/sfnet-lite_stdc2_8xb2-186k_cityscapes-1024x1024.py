_base_ = './sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))

# Table 8 ablation: FAM only at the stride-4 lateral, bilinear elsewhere.
_base_ = './sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(decode_head=dict(fam_levels=(True, False, False)))

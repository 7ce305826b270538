from .fam import FAM, BilinearAlign
from .flow_warp import base_grid, flow_warp, set_grid_cache
from .gather_warp import gather_warp, set_gather_warp
from .gdfam import GDFAM
from .low_res_fusion import (
    LowResFusion,
    fuse_levels,
    set_low_res_fusion,
    upsample_cat,
    use_low_res_fusion,
)
from .nnpack_conv import (
    NNPACKConv2d,
    nnpack_eligible,
    set_nnpack_conv,
    use_nnpack_conv,
)
from .ppm import PPM
from .separable_max_pool import (
    SeparableMaxPool2d,
    separable_max_pool,
    use_separable_max_pool,
)

__all__ = [
    'FAM',
    'BilinearAlign',
    'GDFAM',
    'LowResFusion',
    'fuse_levels',
    'set_low_res_fusion',
    'upsample_cat',
    'use_low_res_fusion',
    'PPM',
    'SeparableMaxPool2d',
    'separable_max_pool',
    'use_separable_max_pool',
    'base_grid',
    'flow_warp',
    'gather_warp',
    'set_gather_warp',
    'set_grid_cache',
    'set_nnpack_conv',
    'use_nnpack_conv',
    'nnpack_eligible',
    'NNPACKConv2d',
]

from .fam import FAM, BilinearAlign
from .flow_warp import FlowWarp, base_grid, flow_warp, grid_dtype
from .gdfam import GDFAM
from .ppm import PPM
from .upsample_cat import upsample_cat

__all__ = [
    'FAM',
    'BilinearAlign',
    'FlowWarp',
    'GDFAM',
    'PPM',
    'base_grid',
    'flow_warp',
    'grid_dtype',
    'upsample_cat',
]

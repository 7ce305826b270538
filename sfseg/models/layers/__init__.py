from .fam import FAM, BilinearAlign
from .flow_warp import base_grid, flow_warp, set_grid_cache
from .gdfam import GDFAM
from .ppm import PPM

__all__ = [
    'FAM',
    'BilinearAlign',
    'GDFAM',
    'PPM',
    'base_grid',
    'flow_warp',
    'set_grid_cache',
]

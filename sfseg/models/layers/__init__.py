from .fam import FAM, BilinearAlign
from .flow_warp import base_grid, flow_warp, set_grid_cache
from .gather_warp import gather_warp, set_gather_warp
from .gdfam import GDFAM
from .ppm import PPM

__all__ = [
    'FAM',
    'BilinearAlign',
    'GDFAM',
    'PPM',
    'base_grid',
    'flow_warp',
    'gather_warp',
    'set_gather_warp',
    'set_grid_cache',
]

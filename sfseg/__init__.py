"""sfseg: SFNet and SFNet-Lite for MMSegmentation 1.x.

Importing the package registers its modules into mmseg's registries, so
stock configs need only ``custom_imports=dict(imports=['sfseg'])``. mmdet
parts live in ``sfseg.det`` and are never imported from here.
"""

import mmcv
import mmengine
from mmengine.utils import digit_version

from .utils import (
    patch_checkpoint_loading,
    patch_cpu_distributed,
    patch_package_lookup,
)
from .version import __version__, version_info

MMCV_MIN, MMCV_MAX = '2.0.0rc4', '2.2.0'
MMENGINE_MIN, MMENGINE_MAX = '0.7.1', '1.0.0'


def _check_version(name, installed, low, high):
    if (
        not digit_version(low)
        <= digit_version(installed)
        < digit_version(high)
    ):
        raise RuntimeError(
            f'sfseg needs {low} <= {name} < {high}, found {installed}.'
        )


_check_version('mmcv', mmcv.__version__, MMCV_MIN, MMCV_MAX)
_check_version('mmengine', mmengine.__version__, MMENGINE_MIN, MMENGINE_MAX)
patch_checkpoint_loading()
patch_cpu_distributed()
patch_package_lookup()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .engine.resume import patch_resume  # noqa: E402

patch_resume()

__all__ = ['__version__', 'version_info']

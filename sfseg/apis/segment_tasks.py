"""Which package segments which task: ``segment`` looks a task's output
builder up here. The semantic path is this package's own; the panoptic
path comes with :mod:`sfseg.det` (mmdet), which registers it when it is
imported, as the panoptic configs' ``custom_imports`` do. ``sfseg.apis``
itself never imports mmdet."""

import importlib

from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from sfseg.utils import SFSegUserError, resolve_config

# task -> 'module:function' building its per-image outputs
_BUILDERS = {}


def register_task(task, target):
    """Make ``target`` (``'module:function'``, imported when first used)
    the output builder of ``task``."""
    _BUILDERS[task] = target


def task_builder(task, config):
    """The output builder of ``task``: registered, else after importing
    the ``custom_imports`` of ``config`` (a file, a name or a
    ``Config``)."""
    if task not in _BUILDERS:
        if not isinstance(config, Config):
            config = Config.fromfile(
                resolve_config(config), import_custom_modules=False
            )
        imports = (config.get('custom_imports') or {}).get('imports', [])
        import_modules_from_strings(imports, allow_failed_imports=False)
    if task not in _BUILDERS:
        raise SFSegUserError(
            f'no {task} path is loaded: the config imports '
            f'{imports or "nothing"}; {task} segmentation comes with '
            "sfseg.det (add custom_imports=dict(imports=['sfseg.det']))"
        )
    module, name = _BUILDERS[task].split(':')
    return getattr(importlib.import_module(module), name)

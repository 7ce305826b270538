"""Importing the official ZwwWayne/K-Net heads from a local clone under
run-time shims: the mmcv 1.x / mmdet 2.x names they import mapped onto
mmcv 2.1, mmengine and mmdet 3.3 (the shared bricks are the installed
ones). Nothing of the official code is copied or edited.
"""

import contextlib
import importlib.util
import os.path as osp
import sys
import types

import torch.nn as nn


class _Registry(dict):
    """Enough of mmcv 1.x's Registry for the official decorators/builds."""

    def register_module(self, name=None, force=False, module=None):
        def register(cls):
            self[name or cls.__name__] = cls
            return cls

        return register

    def build(self, cfg, default_args=None):
        cfg = dict(cfg)
        return self[cfg.pop('type')](**cfg, **(default_args or {}))


class _BaseRoIHead(nn.Module):
    """mmdet 2.x ``BaseRoIHead`` construction (3.x's one is abstract)."""

    def __init__(
        self,
        bbox_roi_extractor=None,
        bbox_head=None,
        mask_roi_extractor=None,
        mask_head=None,
        shared_head=None,
        train_cfg=None,
        test_cfg=None,
        pretrained=None,
        init_cfg=None,
    ):
        super().__init__()
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if bbox_head is not None:
            self.init_bbox_head(bbox_roi_extractor, bbox_head)
        if mask_head is not None:
            self.init_mask_head(mask_roi_extractor, mask_head)
        self.init_assigner_sampler()


def _not_available(*args, **kwargs):
    raise NotImplementedError('the check records instead of assigning')


def _module(name, base=None, **attrs):
    mod = types.ModuleType(name)
    if base is not None:
        mod.__dict__.update(
            {k: v for k, v in vars(base).items() if not k.startswith('__')}
        )
    mod.__dict__.update(attrs)
    return mod


def _shim_modules():
    """mmcv 1.x / mmdet 2.x module names the official files import."""
    import mmcv.cnn
    import mmcv.cnn.bricks.transformer as transformer
    import mmdet.models.roi_heads
    import mmdet.utils
    from mmdet.models.utils import multi_apply
    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger
    from mmengine.model import bias_init_with_prob, normal_init
    from mmengine.registry import DefaultScope

    def build_mmdet(cfg):
        with DefaultScope.overwrite_default_scope('mmdet'):
            return MODELS.build(cfg)

    heads, necks, layers = _Registry(), _Registry(), _Registry()
    return {
        'mmcv.cnn': _module(
            'mmcv.cnn',
            mmcv.cnn,
            bias_init_with_prob=bias_init_with_prob,
            normal_init=normal_init,
        ),
        'mmcv.cnn.bricks.transformer': _module(
            'mmcv.cnn.bricks.transformer',
            transformer,
            TRANSFORMER_LAYER=layers,
            build_transformer_layer=layers.build,
            build_positional_encoding=build_mmdet,
        ),
        'mmcv.runner': _module(
            'mmcv.runner', force_fp32=lambda **kw: lambda fn: fn
        ),
        'mmdet.core': _module(
            'mmdet.core',
            build_assigner=_not_available,
            build_sampler=_not_available,
            multi_apply=multi_apply,
            reduce_mean=mmdet.utils.reduce_mean,
        ),
        'mmdet.models.builder': _module(
            'mmdet.models.builder',
            HEADS=heads,
            NECKS=necks,
            build_loss=build_mmdet,
            build_neck=necks.build,
            build_head=heads.build,
        ),
        'mmdet.models.dense_heads.atss_head': _module(
            'mmdet.models.dense_heads.atss_head',
            reduce_mean=mmdet.utils.reduce_mean,
        ),
        'mmdet.models.roi_heads': _module(
            'mmdet.models.roi_heads',
            mmdet.models.roi_heads,
            BaseRoIHead=_BaseRoIHead,
        ),
        'mmdet.datasets.coco_panoptic': _module(
            'mmdet.datasets.coco_panoptic', INSTANCE_OFFSET=1000
        ),
        'mmdet.utils': _module(
            'mmdet.utils',
            mmdet.utils,
            get_root_logger=MMLogger.get_current_instance,
        ),
        # Package of the official files: only the relative import of
        # kernel_iter_head needs a member, used for an isinstance check
        # in training, which the check does not configure.
        '_official_knet': _module('_official_knet', __path__=[]),
        '_official_knet.det': _module('_official_knet.det', __path__=[]),
        '_official_knet.det.mask_pseudo_sampler': _module(
            '_official_knet.det.mask_pseudo_sampler',
            MaskPseudoSampler=type('MaskPseudoSampler', (), {}),
        ),
    }


@contextlib.contextmanager
def _installed(modules):
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


_OFFICIAL = {}


def import_official(root):
    """The official K-Net classes, imported from ``root`` (once)."""
    if _OFFICIAL:
        return _OFFICIAL
    files = dict(
        kernel_updator='knet/kernel_updator.py',
        semantic_fpn_wrapper='knet/det/semantic_fpn_wrapper.py',
        kernel_head='knet/det/kernel_head.py',
        kernel_update_head='knet/det/kernel_update_head.py',
        kernel_iter_head='knet/det/kernel_iter_head.py',
    )
    missing = [f for f in files.values() if not osp.isfile(osp.join(root, f))]
    if missing:
        raise FileNotFoundError(
            f'{root} is not a ZwwWayne/K-Net checkout (missing {missing})'
        )
    import mmdet.models  # noqa: F401  (real modules first, then shims)

    with _installed(_shim_modules()):
        for name, rel in files.items():
            full = f'_official_knet.det.{name}'
            spec = importlib.util.spec_from_file_location(
                full, osp.join(root, rel)
            )
            mod = importlib.util.module_from_spec(spec)
            sys.modules[full] = mod
            spec.loader.exec_module(mod)
            _OFFICIAL[name] = mod
    return _OFFICIAL

"""Check sfseg's K-Net heads against the official K-Net code, same weights.

    python tools/analysis_tools/check_official_knet.py \\
        --official-root ~/src/K-Net \\
        [--save-reference tests/data/knet_reference.npz]

Builds small sfseg K-Net heads (the R50 panoptic config shrunk: 16
channels, 8 thing kernels, 3 things + 2 stuff, 3 update stages), gives
them deterministic weights (:func:`deterministic_weights`), copies the
state_dict into the official ``ConvKernelHead`` / ``KernelIterHead``
(``strict=True``: the module names are the official ones) and runs both
on the same seeded inputs. It prints the max abs difference of

- the localisation FPN (``SemanticFPNWrapper``: loc and sem features);
- the kernel head (eval): proposal kernels incl. the stuff kernels, the
  features fed to the update heads, the masks, the semantic logits;
- one update stage (stage 0 on its own random kernels, features and
  masks at twice the feature size, so the gather resizes them);
- the 3-stage eval forward (class logits and masks of every stage, the
  upsampled masks of the last stage);
- the training forward: the class logits of every stage and the masks
  (and, from stage 1 on, the class logits) that the kernel head and
  every stage hand to the assigner.

The official files are imported from ``--official-root`` under run-time
shims; nothing is copied or edited (:func:`import_official`). The shims
map the mmcv 1.x / mmdet 2.x names they import onto mmcv 2.1, mmengine
and mmdet 3.3: the shared bricks (``ConvModule``, ``FFN``,
``MultiheadAttention``, ``SinePositionalEncoding``, whose mmdet 2.x
formula is the same) are the installed ones, so the check pins K-Net's
own maths. In training the official assigners, samplers, targets and
losses are replaced by recorders: only the inputs of matching are
compared (the losses have their own hand-computed tests).

``--save-reference`` writes the official outputs, the setup and checksums
of the weights and inputs to a small ``.npz`` (numbers only). The test
``tests/test_det/test_knet_reference.py`` rebuilds the same sfseg heads,
weights and inputs from this module without the official code and
compares against it.
"""

import argparse
import contextlib
import copy
import importlib.util
import json
import math
import os.path as osp
import sys
import types
from unittest import mock

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CFG = osp.join(
    REPO, 'configs', 'knet_panoptic', '_base_', 'knet-s3_r50_fpn_panoptic.py'
)

# Small enough for a < 200 KB reference, big enough for every branch:
# 2 images, stride-8 grid of 8 x 12 (pyramid 16x24 .. 2x3).
SETUP = dict(
    channels=16,
    gn_groups=4,
    num_heads=4,
    feedforward_channels=32,
    num_proposals=8,
    num_things=3,
    num_stuff=2,
    num_stages=3,
    batch=2,
    height=8,
    width=12,
    weight_seed=0,
    input_seed=5,
)
# A hard mask flips when a logit changes sign: keep every thresholded
# logit this far from 0 so float noise between machines cannot flip one
# (input seeds 0-4 come closer than this; 5 keeps 2e-4).
MIN_MARGIN = 1e-4


# --------------------------------------------------------------------------
# sfseg side (also used by the CI test, no official code needed)
# --------------------------------------------------------------------------


def sfseg_cfgs(setup):
    """rpn_head / roi_head configs of the R50 panoptic config, shrunk."""
    from mmengine.config import Config

    model = Config.fromfile(BASE_CFG).model
    c, t, s = setup['channels'], setup['num_things'], setup['num_stuff']
    n = setup['num_proposals']
    gn = dict(type='GN', num_groups=setup['gn_groups'], requires_grad=True)
    rpn = copy.deepcopy(model.rpn_head)
    rpn.update(
        num_proposals=n,
        in_channels=c,
        out_channels=c,
        num_things_classes=t,
        num_stuff_classes=s,
        norm_cfg=gn,
        train_cfg=model.train_cfg.rpn,
    )
    rpn.localization_fpn.update(
        in_channels=c, feat_channels=c, out_channels=c, norm_cfg=gn
    )
    rpn.localization_fpn.positional_encoding.num_feats = c // 2
    roi = copy.deepcopy(model.roi_head)
    assert roi.num_stages == setup['num_stages']
    roi.update(
        proposal_feature_channel=c,
        num_proposals=n,
        num_things_classes=t,
        num_stuff_classes=s,
        train_cfg=model.train_cfg.rcnn,
    )
    for head in roi.mask_head:
        head.update(
            num_things_classes=t,
            num_stuff_classes=s,
            in_channels=c,
            out_channels=c,
            num_heads=setup['num_heads'],
            feedforward_channels=setup['feedforward_channels'],
        )
        head.kernel_updator_cfg.update(
            in_channels=c, feat_channels=c, out_channels=c
        )
    return rpn, roi


def build_sfseg(setup=SETUP):
    """``ModuleDict(rpn_head, roi_head)`` with deterministic weights."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope

    import sfseg.det  # noqa: F401

    register_all_modules(init_default_scope=False)
    rpn, roi = sfseg_cfgs(setup)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = nn.ModuleDict(
            dict(rpn_head=MODELS.build(rpn), roi_head=MODELS.build(roi))
        )
    return deterministic_weights(model, setup['weight_seed'])


@torch.no_grad()
def deterministic_weights(model, seed):
    """Refill every floating tensor of the state_dict from one generator.

    In ``state_dict()`` order, from ``torch.Generator().manual_seed(seed)``:
    tensors with >= 2 dims get ``randn / sqrt(fan_in)`` (fan_in = numel of
    one output row), 1-dim ``*weight`` (GN / LN scales) ``1 + 0.1 randn``
    and every other tensor (biases) ``0.1 randn``. No init of any module
    is involved, so the weights only depend on the key order and shapes.
    """
    gen = torch.Generator().manual_seed(seed)
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            continue
        noise = torch.randn(t.shape, generator=gen, dtype=torch.float32)
        if t.dim() >= 2:
            t.copy_(noise / math.sqrt(t[0].numel()))
        elif name.endswith('weight'):
            t.copy_(1 + 0.1 * noise)
        else:
            t.copy_(0.1 * noise)
    return model


def make_inputs(setup=SETUP):
    """Seeded inputs: a 4-level pyramid, one stage's inputs and GT masks.

    GT things / stuff are fixed rectangles at the assignment stride
    (twice the stride-8 grid); they only have to be valid for matching.
    """
    gen = torch.Generator().manual_seed(setup['input_seed'])
    b, c, h, w = (setup[k] for k in ('batch', 'channels', 'height', 'width'))
    k = setup['num_proposals'] + setup['num_stuff']
    pyramid = [
        torch.randn(b, c, 2 * h >> i, 2 * w >> i, generator=gen)
        for i in range(4)
    ]
    stage = dict(
        feats=torch.randn(b, c, h, w, generator=gen),
        kernels=4 * torch.randn(b, k, c, 1, 1, generator=gen),
        masks=2 * torch.randn(b, k, 2 * h, 2 * w, generator=gen),
    )
    t = setup['num_things']
    things, stuff = [], []
    for i in range(b):
        masks = torch.zeros(2, 2 * h, 2 * w)
        masks[0, 1:h, 2 : w + i] = 1
        masks[1, h : 2 * h - 1, w - i : 2 * w - 2] = 1
        things.append(dict(labels=torch.tensor([i % t, t - 1]), masks=masks))
        sky = torch.zeros(1, 2 * h, 2 * w)
        sky[0, : h // 2] = 1
        stuff.append(dict(labels=torch.tensor([t + 1]), masks=sky))
    return dict(pyramid=pyramid, stage=stage, things=things, stuff=stuff)


def _instances(items):
    from mmengine.structures import InstanceData

    return [InstanceData(**d) for d in items]


def checksums(model, inputs):
    """Sums of |x| in float64, to tell generator drift from a real diff."""
    weights = sum(t.double().abs().sum() for t in model.state_dict().values())
    tensors = [*inputs['pyramid'], *inputs['stage'].values()]
    return dict(
        weights=float(weights),
        inputs=float(sum(t.double().abs().sum() for t in tensors)),
    )


@torch.no_grad()
def sfseg_fpn(model, inputs):
    rpn = model['rpn_head'].eval()
    loc, sem = rpn.localization_fpn(inputs['pyramid'])
    return {'fpn.loc': loc, 'fpn.sem': sem}


@torch.no_grad()
def sfseg_kernel_head(model, inputs):
    rpn = model['rpn_head'].eval()
    kernels, feats, masks = rpn.predict(inputs['pyramid'])
    seg_preds = rpn(inputs['pyramid'])[3]
    return {
        'kernel_head.kernels': kernels,
        'kernel_head.feats': feats,
        'kernel_head.masks': masks,
        'kernel_head.seg_preds': seg_preds,
    }


@torch.no_grad()
def sfseg_update_stage(model, inputs):
    head = model['roi_head'].mask_head[0].eval()
    s = inputs['stage']
    cls_score, masks, kernels = head(s['feats'], s['kernels'], s['masks'])
    return {
        'stage.cls': cls_score,
        'stage.masks': masks,
        'stage.kernels': kernels,
    }


@torch.no_grad()
def sfseg_full(model, inputs):
    """Kernel head -> ``roi_head.predict`` (eval); every stage is hooked."""
    rpn, roi = model['rpn_head'].eval(), model['roi_head'].eval()
    stages = []
    hooks = [
        head.register_forward_hook(lambda m, a, out: stages.append(out))
        for head in roi.mask_head
    ]
    try:
        rpn_out = rpn.predict(inputs['pyramid'])
        cls_score, scaled = roi.predict(*_feats_first(rpn_out))
    finally:
        for h in hooks:
            h.remove()
    outs = {'full.scaled_masks': scaled}
    for i, (cls_i, masks_i, _) in enumerate(stages):
        outs[f'full.cls{i}'] = cls_i
        outs[f'full.masks{i}'] = masks_i
    assert torch.equal(outs[f'full.cls{len(stages) - 1}'], cls_score)
    return outs


def _feats_first(rpn_out):
    kernels, feats, masks = rpn_out
    return feats, kernels, masks


def sfseg_matching(model, inputs):
    """Training forward; records what the kernel head and stages match on.

    Returns ``train.rpn_match_masks`` (B, N, 2h, 2w), and per stage s
    its class logits ``train.cls{s}`` (B, K, T+S), ``train.match_masks{s}``
    and, when given, ``train.match_cls{s}`` (B, N, T).
    """
    from sfseg.det.knet import conv_kernel_head, kernel_iter_head

    rpn, roi = model['rpn_head'].train(), model['roi_head'].train()
    calls = {'rpn': [], 'roi': []}

    def recorder(where, original):
        def record(assigner, sampler, pred_masks, gt, pred_scores=None):
            calls[where].append((pred_masks.detach(), pred_scores))
            return original(assigner, sampler, pred_masks, gt, pred_scores)

        return record

    things = _instances(inputs['things'])
    stuff = _instances(inputs['stuff'])
    stage_cls = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        for head in roi.mask_head:
            hook = head.register_forward_hook(
                lambda m, a, out: stage_cls.append(out[0])
            )
            stack.callback(hook.remove)
        for where, module in (
            ('rpn', conv_kernel_head),
            ('roi', kernel_iter_head),
        ):
            original = module.assign_and_sample
            stack.enter_context(
                mock.patch.object(
                    module, 'assign_and_sample', recorder(where, original)
                )
            )
        _, rpn_out = rpn.loss_and_predict(inputs['pyramid'], things, stuff)
        roi.loss(*_feats_first(rpn_out), things, stuff)
    rpn.eval(), roi.eval()
    return _stack_matching(calls, stage_cls, len(things))


def _stack_matching(calls, stage_cls, batch):
    outs = {'train.rpn_match_masks': torch.stack([m for m, _ in calls['rpn']])}
    for s, cls_score in enumerate(stage_cls):
        outs[f'train.cls{s}'] = cls_score
    roi = calls['roi']
    for s in range(len(roi) // batch):
        per_img = roi[s * batch : (s + 1) * batch]
        outs[f'train.match_masks{s}'] = torch.stack([m for m, _ in per_img])
        if per_img[0][1] is not None:
            outs[f'train.match_cls{s}'] = torch.stack([c for _, c in per_img])
    return outs


PARTS = dict(
    fpn=sfseg_fpn,
    kernel_head=sfseg_kernel_head,
    update_stage=sfseg_update_stage,
    full=sfseg_full,
    matching=sfseg_matching,
)


def sfseg_outputs(model, inputs):
    outs = {}
    for fn in PARTS.values():
        outs.update(fn(model, inputs))
    return outs


def margin(outs, inputs, setup=SETUP):
    """Smallest |logit| among all masks that get thresholded at 0.5."""
    h, w = setup['height'], setup['width']
    stage_in = F.interpolate(
        inputs['stage']['masks'], (h, w), mode='bilinear', align_corners=False
    )
    # Kernel head masks: gathered by the kernel head (thing rows) and by
    # stage 0 (all rows); stage s > 0 gathers with stage s-1's masks.
    gathered = [outs['kernel_head.masks'], stage_in]
    gathered += [outs[f'full.masks{s}'] for s in range(setup['num_stages'])]
    return float(min(m.abs().min() for m in gathered))


# --------------------------------------------------------------------------
# Reference file
# --------------------------------------------------------------------------


def save_reference(path, outs, setup, sums, gap):
    arrays = {
        k: v.detach().numpy().astype(np.float32) for k, v in outs.items()
    }
    arrays['meta'] = np.array(
        json.dumps(dict(setup=setup, checksums=sums, margin=gap))
    )
    np.savez_compressed(path, **arrays)


def load_reference(path):
    """(meta dict, {key: float32 tensor}) of a saved reference."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data['meta']))
        outs = {
            k: torch.from_numpy(data[k].copy()) for k in data if k != 'meta'
        }
    return meta, outs


# --------------------------------------------------------------------------
# Official side
# --------------------------------------------------------------------------


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


def official_cfgs(setup):
    """The official R50 panoptic head configs with the same small sizes."""
    c, t, s = setup['channels'], setup['num_things'], setup['num_stuff']
    n, nc = setup['num_proposals'], t + s
    gn = dict(type='GN', num_groups=setup['gn_groups'], requires_grad=True)
    loss_mask = dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0
    )
    loss_dice = dict(type='DiceLoss', loss_weight=4.0)
    loss_rank = dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1
    )
    focal = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)
    rpn = dict(
        num_classes=nc,
        cat_stuff_mask=True,
        conv_kernel_size=1,
        feat_downsample_stride=2,
        feat_refine_stride=1,
        feat_refine=False,
        use_binary=True,
        num_loc_convs=1,
        num_seg_convs=1,
        conv_normal_init=True,
        localization_fpn=dict(
            type='SemanticFPNWrapper',
            in_channels=c,
            feat_channels=c,
            out_channels=c,
            start_level=0,
            end_level=3,
            upsample_times=2,
            positional_encoding=dict(
                type='SinePositionalEncoding', num_feats=c // 2, normalize=True
            ),
            cat_coors=False,
            cat_coors_level=3,
            fuse_by_cat=False,
            return_list=False,
            num_aux_convs=1,
            norm_cfg=gn,
        ),
        num_proposals=n,
        proposal_feats_with_obj=True,
        xavier_init_kernel=False,
        kernel_init_std=1,
        num_cls_fcs=1,
        in_channels=c,
        out_channels=c,
        norm_cfg=gn,
        num_thing_classes=t,
        num_stuff_classes=s,
        feat_transform_cfg=None,
        loss_rank=loss_rank,
        loss_seg=dict(focal, loss_weight=1.0),
        loss_mask=loss_mask,
        loss_dice=loss_dice,
    )

    def stage_cfg():
        return dict(
            type='KernelUpdateHead',
            num_classes=nc,
            num_ffn_fcs=2,
            num_heads=setup['num_heads'],
            num_cls_fcs=1,
            num_mask_fcs=1,
            feedforward_channels=setup['feedforward_channels'],
            in_channels=c,
            out_channels=c,
            dropout=0.0,
            mask_thr=0.5,
            conv_kernel_size=1,
            mask_upsample_stride=2,
            ffn_act_cfg=dict(type='ReLU', inplace=True),
            with_ffn=True,
            feat_transform_cfg=dict(
                conv_cfg=dict(type='Conv2d'), act_cfg=None
            ),
            kernel_updator_cfg=dict(
                type='KernelUpdator',
                in_channels=c,
                feat_channels=c,
                out_channels=c,
                input_feat_shape=3,
                act_cfg=dict(type='ReLU', inplace=True),
                norm_cfg=dict(type='LN'),
            ),
            num_thing_classes=t,
            num_stuff_classes=s,
            loss_rank=loss_rank,
            loss_mask=loss_mask,
            loss_dice=loss_dice,
            loss_cls=dict(focal, loss_weight=2.0),
        )

    roi = dict(
        do_panoptic=True,
        num_stages=setup['num_stages'],
        stage_loss_weights=[1] * setup['num_stages'],
        proposal_feature_channel=c,
        num_proposals=n,
        num_thing_classes=t,
        num_stuff_classes=s,
        mask_head=[stage_cfg() for _ in range(setup['num_stages'])],
    )
    return rpn, roi


def build_official(root, state_dict, setup=SETUP):
    """Official ``ModuleDict(rpn_head, roi_head)`` loaded from sfseg's."""
    from mmengine.config import ConfigDict

    mods = import_official(root)
    rpn_cfg, roi_cfg = official_cfgs(setup)
    test_cfg = ConfigDict(
        max_per_img=setup['num_proposals'],
        mask_thr=0.5,
        merge_stuff_thing=dict(overlap_thr=0.6, instance_score_thr=0.3),
    )
    model = nn.ModuleDict(
        dict(
            rpn_head=mods['kernel_head'].ConvKernelHead(**rpn_cfg),
            roi_head=mods['kernel_iter_head'].KernelIterHead(
                **roi_cfg, test_cfg=test_cfg
            ),
        )
    )
    model.load_state_dict(state_dict, strict=True)
    return model


def _img_metas(setup):
    h, w = 8 * setup['height'], 8 * setup['width']
    meta = dict(
        batch_input_shape=(h, w), img_shape=(h, w, 3), ori_shape=(h, w, 3)
    )
    return [dict(meta) for _ in range(setup['batch'])]


@torch.no_grad()
def official_outputs(model, inputs, setup=SETUP):
    """The official outputs under the keys of :func:`sfseg_outputs`."""
    rpn, roi = model['rpn_head'].eval(), model['roi_head'].eval()
    metas = _img_metas(setup)
    pyramid, s = inputs['pyramid'], inputs['stage']
    outs = {}
    loc, sem = rpn.localization_fpn(pyramid)
    outs.update({'fpn.loc': loc, 'fpn.sem': sem})

    kernels, feats, masks, cls_scores, seg_preds = rpn.simple_test_rpn(
        pyramid, metas
    )
    outs.update(
        {
            'kernel_head.kernels': kernels,
            'kernel_head.feats': feats,
            'kernel_head.masks': masks,
            'kernel_head.seg_preds': seg_preds,
        }
    )

    cls_score, stage_masks, stage_kernels = roi.mask_head[0](
        s['feats'], s['kernels'], s['masks']
    )
    outs.update(
        {
            'stage.cls': cls_score,
            'stage.masks': stage_masks,
            'stage.kernels': stage_kernels,
        }
    )

    stages = _record_mask_forward(roi)
    roi.simple_test(feats, kernels, masks, cls_scores, metas)
    del roi._mask_forward
    for i, res in enumerate(stages):
        outs[f'full.cls{i}'] = res['cls_score']
        outs[f'full.masks{i}'] = res['mask_preds']
    outs['full.scaled_masks'] = stages[-1]['scaled_mask_preds']

    outs.update(official_matching(model, inputs, setup))
    return outs


def _record_mask_forward(roi):
    stages = []
    original = roi._mask_forward

    def record(*args, **kwargs):
        stages.append(original(*args, **kwargs))
        return stages[-1]

    roi._mask_forward = record  # instance attribute, removed afterwards
    return stages


class _AssignRecorder:
    def __init__(self, calls):
        self.calls = calls

    def assign(self, masks, cls_score, *args):
        scores = None if cls_score is None else cls_score.detach()
        self.calls.append((masks.detach(), scores))


class _NoSampler:
    def sample(self, *args, **kwargs):
        return None


def official_matching(model, inputs, setup=SETUP):
    """Official training forward with recording assigners (no losses).

    Returns the matching inputs and the training-mode class logits of
    every stage under sfseg's keys.
    """
    rpn, roi = model['rpn_head'].train(), model['roi_head'].train()
    metas = _img_metas(setup)
    calls = {'rpn': [], 'roi': []}
    stage_cls = []

    def stage_loss(obj_feats, cls_score, masks, *args, **kwargs):
        stage_cls.append(cls_score)
        return {}

    rpn.assigner, rpn.sampler = _AssignRecorder(calls['rpn']), _NoSampler()
    rpn.get_targets = lambda *a, **k: (None,) * 5
    rpn.loss = lambda *a, **k: {}
    num_stages = setup['num_stages']
    roi.train_cfg = [None] * num_stages
    roi.mask_assigner = [_AssignRecorder(calls['roi'])] * num_stages
    roi.mask_sampler = [_NoSampler()] * num_stages
    for head in roi.mask_head:
        head.get_targets = lambda *a, **k: ()
        head.loss = stage_loss
    gt_masks = [d['masks'] for d in inputs['things']]
    gt_labels = [d['labels'] for d in inputs['things']]
    gt_sem_seg = [d['masks'] for d in inputs['stuff']]
    gt_sem_cls = [d['labels'] for d in inputs['stuff']]
    try:
        gt = (gt_masks, gt_labels, gt_sem_seg, gt_sem_cls)
        _, kernels, feats, masks, cls_scores = rpn.forward_train(
            inputs['pyramid'], metas, *gt
        )
        roi.forward_train(
            feats,
            kernels,
            masks,
            cls_scores,
            metas,
            gt_masks,
            gt_labels,
            gt_sem_seg=gt_sem_seg,
            gt_sem_cls=gt_sem_cls,
        )
    finally:
        for mod in (rpn, *roi.mask_head):
            for name in ('get_targets', 'loss'):
                vars(mod).pop(name, None)
        rpn.eval(), roi.eval()
    return _stack_matching(calls, stage_cls, setup['batch'])


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _table(sfseg_outs, official_outs):
    rows = []
    for key, ref in official_outs.items():
        out = sfseg_outs[key]
        if out.shape != ref.shape:
            raise AssertionError(f'{key}: {out.shape} vs {ref.shape}')
        rows.append(
            (
                key,
                tuple(ref.shape),
                float((out - ref).abs().max()),
                float(ref.abs().max()),
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--official-root', required=True)
    parser.add_argument('--save-reference', metavar='NPZ')
    parser.add_argument('--input-seed', type=int, default=SETUP['input_seed'])
    parser.add_argument('--tol', type=float, default=1e-5)
    args = parser.parse_args(argv)
    setup = dict(SETUP, input_seed=args.input_seed)

    model = build_sfseg(setup)
    inputs = make_inputs(setup)
    ours = sfseg_outputs(model, inputs)
    official = build_official(args.official_root, model.state_dict(), setup)
    theirs = official_outputs(official, inputs, setup)

    # Both official heads match on the same masks; store them once.
    rpn_match = theirs.pop('train.rpn_match_masks')
    same = torch.equal(rpn_match, theirs['train.match_masks0'])
    assert same, 'official kernel head and stage 0 match on different masks'
    theirs_cmp = dict(theirs, **{'train.rpn_match_masks': rpn_match})
    rows = _table(ours, theirs_cmp)
    gap = margin(ours, inputs, setup)

    print('| output | shape | max abs diff | max abs value |')
    print('|---|---|---|---|')
    for key, shape, diff, scale in rows:
        shape = 'x'.join(map(str, shape))
        print(f'| {key} | {shape} | {diff:.1e} | {scale:.2f} |')
    worst = max(r[2] for r in rows)
    print(f'\nmax abs diff over all outputs: {worst:.1e}')
    print(f'smallest |logit| of a thresholded mask: {gap:.1e}')
    if args.save_reference:
        if gap < MIN_MARGIN:
            sys.exit(
                f'a thresholded logit is within {gap:.1e} of 0; pick '
                'another --input-seed'
            )
        save_reference(
            args.save_reference, theirs, setup, checksums(model, inputs), gap
        )
        size = osp.getsize(args.save_reference)
        print(f'wrote {args.save_reference} ({size / 1024:.1f} KiB)')
    if worst > args.tol:
        sys.exit(f'differences above {args.tol}')


if __name__ == '__main__':
    main()

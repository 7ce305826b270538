"""Small sfseg K-Net heads with deterministic weights and seeded inputs.

The sfseg half of the official K-Net check
(``tools/analysis_tools/check_official_knet.py``, official half in
:mod:`.official_knet`) and all of its CI test
(``tests/test_det/test_knet_reference.py``), which needs no official
code:

- :data:`SETUP`: the sizes (the R50 panoptic config shrunk) and seeds;
- :func:`build_sfseg`, :func:`deterministic_weights`, :func:`make_inputs`:
  the same heads, weights and inputs on every machine;
- :data:`PARTS`: the outputs of each part (FPN, kernel head, one update
  stage, 3-stage forward, training matching) under fixed keys;
- :func:`save_reference` / :func:`load_reference`: the ``.npz`` file of
  official outputs, setup, :func:`checksums` and :func:`margin`.
"""

import contextlib
import copy
import json
import math
from unittest import mock

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Found by sfseg.utils.resolve_config: the repo's or the installed copy.
BASE_CFG = 'knet_panoptic/_base_/knet-s3_r50_fpn_panoptic.py'

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


def sfseg_cfgs(setup):
    """rpn_head / roi_head configs of the R50 panoptic config, shrunk."""
    from mmengine.config import Config

    from sfseg.official_checks.knet.toy_runs import shrink_knet_heads
    from sfseg.utils import resolve_config

    model = Config.fromfile(resolve_config(BASE_CFG)).model
    rpn = copy.deepcopy(model.rpn_head)
    roi = copy.deepcopy(model.roi_head)
    assert roi.num_stages == setup['num_stages']
    shrink_knet_heads(
        rpn,
        roi,
        setup['channels'],
        setup['num_proposals'],
        setup['num_things'],
        setup['num_stuff'],
        gn_groups=setup['gn_groups'],
        num_heads=setup['num_heads'],
        feedforward_channels=setup['feedforward_channels'],
    )
    rpn.train_cfg = model.train_cfg.rpn
    roi.train_cfg = model.train_cfg.rcnn
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
    """Localisation FPN (eval): ``fpn.loc`` and ``fpn.sem`` features."""
    rpn = model['rpn_head'].eval()
    loc, sem = rpn.localization_fpn(inputs['pyramid'])
    return {'fpn.loc': loc, 'fpn.sem': sem}


@torch.no_grad()
def sfseg_kernel_head(model, inputs):
    """Kernel head (eval): proposal kernels incl. the stuff kernels, the
    features for the update heads, the masks and the semantic logits."""
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
    """Update stage 0 (eval) on the inputs' own kernels, features and
    masks (twice the feature size, so the gather resizes them)."""
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
    return stack_matching(calls, stage_cls, len(things))


def stack_matching(calls, stage_cls, batch):
    """Matching records -> the ``train.*`` outputs of :func:`sfseg_matching`.

    Args:
        calls (dict): ``'rpn'`` / ``'roi'``: lists of (masks, class logits
            or None), one per image and assignment, stage after stage.
        stage_cls (list[Tensor]): Training-mode class logits per stage.
        batch (int): Images per batch.
    """
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
    """The outputs of every part in :data:`PARTS`, in one dict."""
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


def save_reference(path, outs, setup, sums, gap):
    """Write outputs (float32) and setup, checksums, margin to ``path``.

    Args:
        path (str): ``.npz`` file, written compressed.
        outs (dict[str, Tensor]): Outputs under the keys of :data:`PARTS`.
        setup (dict): The :data:`SETUP` they were computed with.
        sums (dict): :func:`checksums` of the weights and inputs.
        gap (float): :func:`margin` of the outputs.
    """
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


def diff_rows(outs, refs):
    """(key, shape, max abs diff, max abs reference value) per reference.

    Raises:
        AssertionError: An output's shape differs from its reference's.
    """
    rows = []
    for key, ref in refs.items():
        out = outs[key]
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

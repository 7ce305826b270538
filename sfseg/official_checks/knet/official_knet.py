"""The official ZwwWayne/K-Net heads, run from a local clone.

The official half of ``tools/analysis_tools/check_official_knet.py``
(sfseg half in :mod:`.knet_reference`). Nothing of the official code is
part of sfseg: :func:`import_official` imports its files from the clone
you pass (``--official-root``) under run-time shims, nothing is copied or
edited. The shims map the mmcv 1.x / mmdet 2.x names they import onto
mmcv 2.1, mmengine and mmdet 3.3: the shared bricks (``ConvModule``,
``FFN``, ``MultiheadAttention``, ``SinePositionalEncoding``, whose mmdet
2.x formula is the same) are the installed ones, so a comparison pins
K-Net's own maths.

- :func:`official_cfgs` / :func:`build_official`: the official heads with
  the sizes of :data:`.knet_reference.SETUP`, loaded strictly from
  sfseg's state_dict (the module names are the official ones);
- :func:`official_outputs`: their outputs under the keys of
  :data:`.knet_reference.PARTS`; in training (:func:`official_matching`)
  the official assigners, samplers, targets and losses are replaced by
  recorders, so only the inputs of matching are compared.
"""

import torch
import torch.nn as nn

from .knet_reference import SETUP, stack_matching
from .official_knet_shims import import_official


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
    """The official outputs under the keys of
    :func:`.knet_reference.sfseg_outputs`."""
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
    return stack_matching(calls, stage_cls, setup['batch'])

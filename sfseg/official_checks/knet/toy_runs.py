"""K-Net on the toy panoptic set (:mod:`sfseg.datasets.toy.panoptic`) on
the CPU: the one shrinker of K-Net configs (:func:`shrink_knet`,
:func:`shrink_knet_heads`, used by the toy runs, the K-Net reference and
the tests) and :func:`toy_config`, which turns a K-Net config into an
mmdet Runner config that trains, validates and tests on the toy set.

Used by ``tools/analysis_tools/knet_overfit.py`` (through
:mod:`.overfit`) and the K-Net tests.
"""

import os.path as osp

from sfseg.datasets.toy.panoptic import (
    STUFF_CLASSES,
    THING_CLASSES,
    toy_metainfo,
)


def shrink_knet_heads(
    rpn,
    roi,
    channels,
    num_proposals,
    num_things,
    num_stuff,
    gn_groups=None,
    num_heads=None,
    feedforward_channels=None,
):
    """Shrink K-Net's kernel heads in place: ``rpn`` (``rpn_head``) and
    ``roi`` (``roi_head``) configs to ``channels`` channels,
    ``num_proposals`` thing kernels and ``num_things`` + ``num_stuff``
    classes; GroupNorm with ``gn_groups`` groups and ``num_heads``
    attention heads where given (else the config's), feed-forward
    ``feedforward_channels`` (default ``4 * channels``)."""
    split = dict(num_things_classes=num_things, num_stuff_classes=num_stuff)
    sizes = dict(in_channels=channels, out_channels=channels)
    gn = {}
    if gn_groups is not None:
        gn = dict(norm_cfg=dict(type='GN', num_groups=gn_groups,
                                requires_grad=True))  # fmt: skip
    rpn.update(split, num_proposals=num_proposals, **sizes, **gn)
    rpn.localization_fpn.update(feat_channels=channels, **sizes, **gn)
    rpn.localization_fpn.positional_encoding.num_feats = channels // 2
    roi.update(
        split, proposal_feature_channel=channels, num_proposals=num_proposals
    )
    heads = {} if num_heads is None else dict(num_heads=num_heads)
    for head in roi.mask_head:
        head.update(
            split,
            feedforward_channels=feedforward_channels or 4 * channels,
            **sizes,
            **heads,
        )
        head.kernel_updator_cfg.update(feat_channels=channels, **sizes)
    return rpn, roi


def shrink_knet(
    model,
    channels=64,
    num_proposals=10,
    width=16,
    num_things=len(THING_CLASSES),
    num_stuff=len(STUFF_CLASSES),
    **heads,
):
    """Shrink a K-Net model config in place for CPU runs on the toy set.

    ``num_things`` + ``num_stuff`` classes (the toy set's 2 + 2),
    ``num_proposals`` thing kernels, ``channels`` neck/head channels (a
    multiple of the GroupNorm groups, 32 unless ``heads`` sets
    ``gn_groups``), a ResNet backbone ``width`` channels wide at stride 4,
    and BN instead of SyncBN (one CPU process). Other backbones keep
    their width.

    Args:
        model (ConfigDict): ``cfg.model`` of a K-Net panoptic config
            (FPN or SFNeck neck), changed in place.
        channels (int): Neck and head channels.
        num_proposals (int): Thing kernels.
        width (int): ``base_channels`` of a ResNet / SFResNetD backbone.
        num_things (int): Thing classes.
        num_stuff (int): Stuff classes.
        heads: ``gn_groups``, ``num_heads``, ``feedforward_channels`` of
            :func:`shrink_knet_heads`.

    Returns:
        ConfigDict: ``model``.
    """
    if channels % heads.get('gn_groups', 32):
        raise ValueError(f'channels must be a multiple of 32, got {channels}')
    bn = dict(type='BN', requires_grad=True)
    backbone = model.backbone
    if backbone.type in ('SFResNetD', 'ResNet'):
        backbone.base_channels = width
        if backbone.type == 'SFResNetD':
            backbone.stem_channels = 2 * width
        expansion = 1 if backbone.depth < 50 else 4
        model.neck.in_channels = [width * expansion * 2**i for i in range(4)]
    backbone.norm_cfg = bn
    if 'norm_cfg' in model.neck:
        model.neck.norm_cfg = bn
    if model.neck.type == 'SFNeck':
        model.neck.channels = channels
    else:
        model.neck.out_channels = channels
    split = dict(num_things_classes=num_things, num_stuff_classes=num_stuff)
    model.update(split)
    shrink_knet_heads(
        model.rpn_head,
        model.roi_head,
        channels,
        num_proposals,
        num_things,
        num_stuff,
        **heads,
    )
    model.panoptic_fusion_head.update(split, num_proposals=num_proposals)
    model.test_cfg.panoptic.max_per_img = num_proposals
    return model


def toy_config(
    config,
    data,
    work_dir,
    iters=2,
    eval_interval=None,
    lr=None,
    batch_size=2,
    outfile_prefix=None,
    shrink=True,
    seed=0,
):
    """Turn a K-Net config into a CPU run on the toy set from ``data``.

    Args:
        config (str | Config): K-Net panoptic config: a path or an sfseg
            config name (:func:`sfseg.utils.resolve_config`), or a loaded
            config, which is changed in place.
        data (dict): Output of :func:`write_toy_panoptic`.
        work_dir (str): Runner work dir.
        iters (int): Training iterations (``IterBasedTrainLoop``).
        eval_interval (int, optional): Validation interval; default
            ``iters``. Validation and test use the training images.
        lr (float, optional): AdamW learning rate (config's by default);
            constant after a 10-iteration warm-up.
        batch_size (int): Training batch size.
        outfile_prefix (str, optional): ``CocoPanopticMetric`` prefix of
            the test evaluator; its prediction PNGs go to
            ``<prefix>.panoptic/``.
        shrink (bool): Apply :func:`shrink_knet`.
        seed (int): Runner seed.

    Returns:
        Config: ready for ``Runner.from_cfg`` or ``Config.dump``.
    """
    from mmengine.config import Config

    from sfseg.utils import resolve_config

    if isinstance(config, str):
        cfg = Config.fromfile(resolve_config(config))
    else:
        cfg = config
    if shrink:
        shrink_knet(cfg.model)
    root = osp.dirname(data['img_dir'])
    dataset = dict(
        type='CocoPanopticDataset',
        data_root=root,
        ann_file=data['ann_file'],
        data_prefix=dict(img='images/', seg='panoptic/'),
        metainfo=toy_metainfo(),
        backend_args=None,
    )
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(
            type='PackDetInputs',
            meta_keys=(
                'img_id',
                'img_path',
                'ori_shape',
                'img_shape',
                'scale_factor',
            ),
        ),
    ]
    loader = dict(num_workers=0, persistent_workers=False)
    cfg.train_dataloader = dict(
        batch_size=batch_size,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(dataset, pipeline=train_pipeline, filter_cfg=None),
        **loader,
    )
    cfg.val_dataloader = dict(
        batch_size=1,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(dataset, pipeline=test_pipeline, test_mode=True),
        **loader,
    )
    cfg.test_dataloader = cfg.val_dataloader
    metric = dict(
        type='CocoPanopticMetric',
        ann_file=data['ann_file'],
        seg_prefix=data['seg_dir'] + '/',
        nproc=1,
    )
    cfg.val_evaluator = metric
    cfg.test_evaluator = dict(metric)
    if outfile_prefix is not None:
        cfg.test_evaluator['outfile_prefix'] = outfile_prefix
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop',
        max_iters=iters,
        val_interval=eval_interval or iters,
    )
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=0.1,
            by_epoch=False,
            begin=0,
            end=min(10, iters),
        )
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False
    )
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.log_processor = dict(by_epoch=False)
    cfg.env_cfg = dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo'),
    )
    cfg.randomness = dict(seed=seed)
    # mmdet names its visualizer 'visualizer'; a second Runner in the same
    # process would reuse the first one's (and log into its work dir). The
    # Runner names it after the experiment when no name is given.
    cfg.visualizer.pop('name', None)
    cfg.load_from = None
    cfg.work_dir = work_dir
    return cfg

"""sfseg training next to the official SFNet training, step by step.

The pieces of ``tools/analysis_tools/check_official_training.py``:
:func:`check_family` runs ``steps`` SGD steps of the official model, loss,
optimiser and scheduler (built from a local lxtGH/SFSegNets clone) and of
the sfseg model, optim wrapper and parameter scheduler (built from the
sfseg config through mmengine's registries) from the same converted
weights on one fixed batch, and returns per-step losses, gradient and
weight differences and learning rates; :func:`check_augmentation`
compares the two training augmentations with KS tests.
"""

import contextlib
import copy
import functools
import types

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS, PARAM_SCHEDULERS
from mmseg.structures import SegDataSample

from sfseg.models.official import FAMILIES
from sfseg.models.official import convert as converter
from sfseg.official_checks.official_sfsegnets import (
    build_official,
    import_official,
)
from sfseg.utils import resolve_config

# family -> (sfseg config, official loss: '--ohem' or CriterionSFNet)
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def trained_families():
    """The families whose training step is checked: those with an
    official criterion in :data:`~sfseg.models.official.FAMILIES`."""
    return sorted(f.name for f in FAMILIES.values() if f.criterion)


def official_modules(root):
    """The official ``loss`` and ``optimizer`` modules (imported from
    ``root`` after the model package, which sets up ``config``)."""
    import_official(root)
    import loss
    import optimizer

    return loss, optimizer


def fixed_batch(shape, seed=0, num_classes=19):
    """2 images (RGB uint8) with blocky labels and some ignored pixels."""
    rng = np.random.RandomState(seed)
    h, w = shape
    imgs, labels = [], []
    for _ in range(2):
        coarse = rng.randint(0, num_classes, (h // 32, w // 32))
        label = np.kron(coarse, np.ones((32, 32), np.int64))
        label[rng.rand(h, w) < 0.05] = 255
        base = rng.randint(0, 256, (h // 8, w // 8, 3)).astype(np.uint8)
        img = np.kron(base, np.ones((8, 8, 1), np.uint8))
        img = np.clip(img + rng.randint(-20, 21, img.shape), 0, 255)
        imgs.append(img.astype(np.uint8))
        labels.append(label)
    return imgs, labels


def official_inputs(imgs, labels):
    """ToTensor + Normalize(ImageNet) as the official transforms."""
    x = np.stack([(i / 255.0 - MEAN) / STD for i in imgs]).astype(np.float32)
    return (
        torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(np.stack(labels)),
    )


def sfseg_inputs(imgs, labels):
    """What mmseg's PackSegInputs gives the data preprocessor (BGR)."""
    samples = []
    for img, label in zip(imgs, labels):
        h, w = label.shape
        sample = SegDataSample(
            metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w))
        )
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label[None]))
        samples.append(sample)
    inputs = [
        torch.from_numpy(np.ascontiguousarray(i[:, :, ::-1])).permute(2, 0, 1)
        for i in imgs
    ]
    return dict(inputs=inputs, data_samples=samples)


def no_dropout(model):
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0
    return model


def build_sfseg(family, shape):
    cfg = Config.fromfile(resolve_config(FAMILIES[family].config))
    cfg.model.data_preprocessor.size = tuple(shape)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    return cfg, no_dropout(model).train()


def convert(state, family, official_state):
    """Official-named tensors -> sfseg names (buffers from the model)."""
    full = dict(official_state, **state)
    converted, _ = converter.convert_state_dict(full, family)
    return converted


def official_schedule_lrs(optimizer_mod, epochs, base_lr, at):
    """LR of the official loop at the first iteration of epochs ``at``."""
    param = nn.Parameter(torch.zeros(1))
    args = official_args(base_lr, epochs)
    opt, sched = optimizer_mod.get_optimizer(
        args, types.SimpleNamespace(parameters=lambda: [param])
    )
    lrs = {}
    for epoch in range(epochs):
        sched.step()
        if epoch in at:
            lrs[epoch] = opt.param_groups[0]['lr']
    return lrs


def sfseg_schedule_lrs(cfg, at, ipe):
    param = nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(
        torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    )
    (sched_cfg,) = cfg.param_scheduler
    sched = PARAM_SCHEDULERS.build(
        sched_cfg, default_args=dict(optimizer=wrapper)
    )
    lrs, targets = {}, {e * ipe: e for e in at}
    for it in range(max(targets) + 1):
        if it in targets:
            lrs[targets[it]] = wrapper.get_lr()['lr'][0]
        sched.step()
    return lrs


def official_args(lr, epochs):
    return types.SimpleNamespace(
        sgd=True,
        adam=False,
        lr=lr,
        weight_decay=1e-4,
        momentum=0.9,
        lr_schedule='poly',
        poly_exp=1.0,
        max_epoch=epochs,
    )


def max_diff(a, b, keys):
    return max(float((a[k] - b[k]).abs().max()) for k in keys)


def cast_preprocessed(model, dtype):
    """mmseg's preprocessor returns float32; cast its output to the
    model's dtype (a float64 run measures the maths, not the rounding)."""
    preprocess = model.data_preprocessor.forward

    def forward(data, training=False):
        data = preprocess(data, training)
        data['inputs'] = data['inputs'].to(dtype)
        return data

    model.data_preprocessor.forward = forward


@contextlib.contextmanager
def linspace_in(dtype):
    """Official ``flow_warp`` builds its grid with ``torch.linspace`` in
    float32 and casts it to the input's dtype; in a float64 run that
    rounding (3e-8) would be the largest difference between the two
    codes. Build it in ``dtype`` instead (a run-time adaptation; float32
    runs are unaffected)."""
    original = torch.linspace
    torch.linspace = functools.partial(original, dtype=dtype)
    try:
        yield
    finally:
        torch.linspace = original


def official_loss(loss_mod, family):
    if FAMILIES[family].criterion == 'ohem':
        return loss_mod.OhemCrossEntropy2dTensor(255)
    return loss_mod.CriterionSFNet(ignore_index=255)


def rounding_floor(official, x, gts, param_names):
    """Max abs difference between the official model's own float32 and
    float64 gradients: the float32 rounding noise of this computation."""
    grads = []
    for dtype in (torch.float32, torch.float64):
        net = copy.deepcopy(official).to(dtype)
        net(x.to(dtype), gts=gts).backward()
        grads.append(
            {
                n: p.grad.double()
                for n, p in net.named_parameters()
                if p.grad is not None  # parameters the model never runs
            }
        )
    return max(
        float((grads[0][n] - grads[1][n]).abs().max())
        for n in param_names
        if n in grads[1]
    )


def check_family(root, family, steps, shape, dtype=torch.float64, seed=0):
    loss_mod, optimizer_mod = official_modules(root)
    cfg, model = build_sfseg(family, shape)
    (sched_cfg,) = cfg.param_scheduler
    ipe, epochs = sched_cfg.iters_per_epoch, sched_cfg.max_epochs
    base_lr = cfg.optim_wrapper.optimizer.lr

    torch.manual_seed(seed)
    official = no_dropout(build_official(root, family)).train()
    official.criterion = official_loss(loss_mod, family)
    official_state = official.state_dict()
    converted = convert({}, family, official_state)
    model.load_state_dict(converted, strict=True)
    params = [k for k, _ in model.named_parameters()]

    imgs, labels = fixed_batch(shape, seed)
    x_official, gts = official_inputs(imgs, labels)
    # both sides get mmseg's normalisation of the same uint8 images
    x = model.data_preprocessor(sfseg_inputs(imgs, labels), True)['inputs']
    norm_diff = float((x - x_official).abs().max())
    floor = rounding_floor(
        official, x, gts, [n for n, _ in official.named_parameters()]
    )
    official.to(dtype)
    model.to(dtype)  # the preprocessor's mean / std too
    cast_preprocessed(model, dtype)
    x = model.data_preprocessor(sfseg_inputs(imgs, labels), True)['inputs']

    opt, sched = optimizer_mod.get_optimizer(
        official_args(base_lr, epochs), official
    )
    sched.step()  # the official loop steps at the start of epoch 0
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scheduler = PARAM_SCHEDULERS.build(
        sched_cfg, default_args=dict(optimizer=wrapper)
    )
    grads = {}
    step = wrapper.step

    def step_recording_grads(**kwargs):
        grads.update({k: p.grad.clone() for k, p in model.named_parameters()})
        return step(**kwargs)

    wrapper.step = step_recording_grads

    rows = []
    for i in range(steps):
        lr_official = opt.param_groups[0]['lr']
        lr_sfseg = wrapper.get_lr()['lr'][0]
        opt.zero_grad()
        with linspace_in(dtype):
            loss_official = official(x, gts=gts)
        loss_official.backward()
        official_grads = {  # None: parameters the model never runs
            k: torch.zeros_like(p) if p.grad is None else p.grad
            for k, p in official.named_parameters()
        }
        opt.step()
        log = model.train_step(sfseg_inputs(imgs, labels), wrapper)
        scheduler.step()
        loss_sfseg = float(log['loss'])
        g = convert(official_grads, family, official_state)
        w = convert(official.state_dict(), family, official_state)
        rows.append(
            dict(
                step=i + 1,
                loss_official=float(loss_official),
                loss_sfseg=loss_sfseg,
                rel_loss=abs(loss_sfseg - float(loss_official))
                / abs(float(loss_official)),
                grad=max_diff(g, grads, params),
                max_grad=max(float(grads[k].abs().max()) for k in params),
                weight=max_diff(w, dict(model.named_parameters()), params),
                lr_official=lr_official,
                lr_sfseg=lr_sfseg,
            )
        )
    at = sorted({0, 1, 2, epochs - 1})
    rows[0]['norm_diff'], rows[0]['floor'] = norm_diff, floor
    return rows, (
        official_schedule_lrs(optimizer_mod, epochs, base_lr, at),
        sfseg_schedule_lrs(cfg, at, ipe),
    )


AUGMENTATION_CONFIG = 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'


def check_augmentation(root, draws, seed=0):
    """KS comparison of the official and the sfseg augmentation."""
    from mmengine.utils import ProgressBar

    from sfseg.datasets.class_uniform import label_centroids
    from sfseg.datasets.toy.driving import draw_scene
    from sfseg.official_checks.official_augmentation import compare

    rgb, label = draw_scene(1024, 2048, np.random.default_rng(seed))
    label = np.where(label == 255, 0, label).astype(np.uint8)
    centroids = label_centroids(label, 19, 1024)
    counts = {c: int((label == c).sum()) for c in centroids}
    rare = min(counts, key=counts.get)
    cfg = Config.fromfile(resolve_config(AUGMENTATION_CONFIG))
    result = compare(
        root,
        cfg,
        rgb,
        label,
        centroids[rare],
        rare,
        draws,
        ProgressBar(draws),
    )
    return rare, counts[rare] / label.size, result

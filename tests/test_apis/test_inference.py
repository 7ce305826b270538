"""sfseg.apis: config names, strict weights, the fast path, dataset meta."""

import os.path as osp

import numpy as np
import pytest
import torch
from common import REPO
from mmengine.config import Config
from mmseg.apis import inference_model
from mmseg.registry import MODELS

from sfseg.apis import SFSegInferencer, init_model
from sfseg.engine import set_data_root
from sfseg.utils import (
    CheckpointMismatchError,
    ConfigNotFoundError,
    SFSegUserError,
    load_weights_strictly,
    resolve_config,
)

TOY_NAME = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
TOY = osp.join(REPO, 'configs', 'toy', TOY_NAME)


@pytest.fixture(scope='module')
def toy_state():
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TOY).model)
    # BN statistics away from (0, 1) so that folding them matters
    for name, buf in model.named_buffers():
        if name.endswith('running_mean'):
            buf.uniform_(-0.5, 0.5)
        elif name.endswith('running_var'):
            buf.uniform_(0.5, 2.0)
    return model.state_dict()


@pytest.fixture(scope='module')
def bn_ckpt(toy_state, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'toy.pth')
    meta = dict(dataset_meta=dict(classes=[f'c{i}' for i in range(19)]))
    meta['dataset_meta']['palette'] = [[i, 2 * i, 3 * i] for i in range(19)]
    torch.save({'state_dict': toy_state, 'meta': meta}, path)
    return path


def config_with(tmp_path, **head):
    cfg = Config.fromfile(TOY)
    cfg.model.decode_head.update(head)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    return path


@pytest.mark.parametrize(
    'name',
    [
        TOY_NAME,
        TOY_NAME[:-3],
        f'sfseg::toy/{TOY_NAME}',
        f'toy/{TOY_NAME}',
        f'configs/toy/{TOY_NAME}',
    ],
)
def test_config_names_resolve(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository
    assert osp.samefile(resolve_config(name), TOY)


def test_unknown_config_name_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigNotFoundError, match='sfseg::toy/nope.py'):
        resolve_config('sfseg::toy/nope.py')
    with pytest.raises(FileNotFoundError, match='nope_cfg'):
        init_model('nope_cfg', None)


def test_class_count_mismatch_names_both_counts(bn_ckpt, tmp_path):
    cfg = config_with(tmp_path, num_classes=5)
    pattern = (
        r'toy.pth does not fit the model: .*decode_head.conv_seg.weight '
        r'\(checkpoint \[19, 128, 1, 1\], model \[5, 128, 1, 1\]\).*'
        r'num_classes 5 in the config, 19 in the checkpoint'
    )
    with pytest.raises(CheckpointMismatchError, match=pattern):
        init_model(cfg, bn_ckpt)
    with pytest.raises(CheckpointMismatchError, match=pattern):
        SFSegInferencer(cfg, bn_ckpt)


def test_missing_and_unexpected_keys(toy_state, tmp_path):
    model = MODELS.build(Config.fromfile(TOY).model)
    backbone_only = {
        k: v for k, v in toy_state.items() if k.startswith('backbone.')
    }
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights_strictly(model, {'state_dict': backbone_only}, 'b.pth')
    assert 'b.pth does not fit' in str(err.value)
    assert 'missing key(s): decode_head.' in str(err.value)
    assert 'backbone-only checkpoint' in str(err.value)
    # official names among sfseg ones: no official file, named as extra
    official = {'head.0.weight': torch.zeros(1), 'layer0.0.weight': 1}
    with pytest.raises(
        CheckpointMismatchError,
        match=r'o.pth does not fit the model: 2 unexpected key\(s\): '
        'head.0.weight, layer0.0.weight',
    ):
        load_weights_strictly(model, dict(toy_state, **official), 'o.pth')
    extra = dict(toy_state, **{'decode_head.extra.weight': torch.zeros(2)})
    with pytest.raises(
        CheckpointMismatchError,
        match=r'1 unexpected key\(s\): decode_head.extra.weight',
    ):
        load_weights_strictly(model, extra, 'e.pth')
    assert isinstance(CheckpointMismatchError('x'), SFSegUserError)


def test_ddp_prefix_and_exact_load(toy_state):
    model = MODELS.build(Config.fromfile(TOY).model)
    ddp = {'state_dict': {f'module.{k}': v for k, v in toy_state.items()}}
    load_weights_strictly(model, ddp)
    for k, v in model.state_dict().items():
        assert torch.equal(v, toy_state[k]), k


def test_fast_path_matches_eager(bn_ckpt):
    img = (np.random.RandomState(0).rand(96, 160, 3) * 255).astype(np.uint8)
    eager = init_model(TOY_NAME, bn_ckpt, fast=False)
    fast = init_model(TOY_NAME, bn_ckpt)  # CPU: fast by default
    n_bn = sum('BatchNorm' in type(m).__name__ for m in eager.modules())
    assert n_bn > 10
    assert sum('BatchNorm' in type(m).__name__ for m in fast.modules()) == 0
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    a = inference_model(eager, img).seg_logits.data
    b = inference_model(fast, img).seg_logits.data
    assert a.shape == (19, 96, 160)
    assert (a - b).abs().max() < 1e-4
    assert eager.dataset_meta['classes'][3] == 'c3'


def test_inferencer_fast_and_meta(bn_ckpt):
    inferencer = SFSegInferencer(TOY_NAME, bn_ckpt, show_progress=False)
    assert not any(
        'BatchNorm' in type(m).__name__ for m in inferencer.model.modules()
    )
    assert inferencer.model.dataset_meta['palette'][2] == [2, 4, 6]
    img = (np.random.RandomState(1).rand(64, 128, 3) * 255).astype(np.uint8)
    out = inferencer(img, return_datasamples=True)
    eager = init_model(TOY, bn_ckpt, fast=False)
    want = inference_model(eager, img).pred_sem_seg.data
    assert (out.pred_sem_seg.data == want).float().mean() > 0.999


def test_inferencer_tunes_layout_and_keeps_outputs(bn_ckpt):
    inferencer = SFSegInferencer(TOY_NAME, bn_ckpt, show_progress=False)
    tuner = inferencer.model.layout_tuner
    kinds = {type(m).__name__ for m in inferencer.model.modules()}
    assert {'NNPACKConv2d', 'SeparableMaxPool2d'} <= kinds
    img = (np.random.RandomState(2).rand(64, 128, 3) * 255).astype(np.uint8)
    eager = init_model(TOY, bn_ckpt, fast=False)
    want = inference_model(eager, img).seg_logits.data
    for _ in range(6):  # channels-last x3, NCHW x2, then the faster
        got = inferencer(img, return_datasamples=True).seg_logits.data
        assert (got - want).abs().max() < 1e-4 * max(1, want.abs().max())
    ((shape, layout),) = tuner.choice.items()
    assert shape[:2] == (1, 3)  # the resized batch the network saw
    assert set(tuner.timings[shape]) == {'channels_last', 'nchw'}
    assert layout == min(tuner.timings[shape], key=tuner.timings[shape].get)


def test_no_class_names_in_checkpoint(toy_state, tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save(toy_state, path)
    with pytest.warns(UserWarning, match='no class names.*cityscapes'):
        model = init_model(TOY, path)
    assert model.dataset_meta['classes'][0] == 'road'


def test_data_root_override():
    cfg = Config.fromfile(TOY)
    set_data_root(cfg, '/data/x')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == '/data/x'
    uds = Config.fromfile(
        resolve_config('sfnet_r18-d32_8xb4-131k_uds-1024x1024.py')
    )
    with pytest.raises(SFSegUserError, match='needs one data root.*found'):
        set_data_root(uds, '/data/x')

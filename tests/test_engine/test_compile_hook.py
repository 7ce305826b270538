"""``compile=True`` through ``SFCompileHook``: the toy config compiles
once (no recompilation after warm-up, no graph break) and trains with
eager training's losses: the same bits with dynamo's graphs alone, the
first loss within 1e-5 with Inductor."""

import math

import pytest
from mmengine.config import Config
from toy_training import TOY

from sfseg.benchmark.training import record_training
from sfseg.engine import compile_network
from sfseg.engine.hooks.compile_hook import compile_options


def toy_config(root):
    cfg = Config.fromfile(TOY)
    loader = cfg.train_dataloader
    loader.dataset.data_root = root
    loader.update(num_workers=0, persistent_workers=False, batch_size=2)
    cfg.randomness = dict(seed=0)
    return cfg


def test_compile_options():
    assert compile_options(Config(dict())) is None
    assert compile_options(Config(dict(compile=False))) is None
    assert compile_options(Config(dict(compile=True))) == {}
    cfg = Config(dict(compile=dict(backend='eager', target='forward')))
    assert compile_options(cfg) == dict(backend='eager')


def test_train_tool_adds_the_hook_once():
    cfg = Config(dict(custom_hooks=[dict(type='SFRequeueHook')]))
    assert compile_network(cfg) is False  # no compile key: untouched
    assert cfg.custom_hooks == [dict(type='SFRequeueHook')]
    cfg.compile = True
    assert compile_network(cfg) is True
    assert cfg.custom_hooks[-1] == dict(type='mmseg.SFCompileHook')
    compile_network(cfg)
    assert len(cfg.custom_hooks) == 2
    toy = Config.fromfile(TOY)  # sfseg's configs list it already
    toy.compile = True
    hooks = list(toy.custom_hooks)
    compile_network(toy)
    assert toy.custom_hooks == hooks


@pytest.mark.parametrize('backend', ['eager', 'inductor'])
def test_toy_config_compiles_once_and_trains_like_eager(
    toy_city, tmp_path, backend
):
    iters, cfg = 6, toy_config(toy_city)
    eager = record_training(cfg, False, iters, tmp_path / 'eager')
    assert eager.frames[-1] == 0  # nothing compiled
    compiled = record_training(
        cfg, dict(backend=backend), iters, tmp_path / 'compiled'
    )
    # the loss (forward and backward graphs) compiles in iteration 1 only
    assert compiled.frames[0] >= 1
    assert compiled.frames[1:] == [compiled.frames[0]] * (iters - 1)
    assert compiled.breaks == [0] * iters
    if backend == 'eager':  # dynamo's graphs run by eager kernels
        assert compiled.losses == eager.losses  # bit for bit
    else:
        # Inductor's fused kernels round differently (1e-7 here); from
        # the first update on, training from scratch amplifies any such
        # difference, as it does one of kernels between CPUs
        assert compiled.losses[0] == pytest.approx(eager.losses[0], rel=1e-5)
        assert all(math.isfinite(loss) for loss in compiled.losses)

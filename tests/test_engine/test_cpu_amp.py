"""``tools/train.py --amp`` on the CPU (mmengine's ``AmpOptimWrapper``
refuses to be built there): bf16 autocast through
``SFCpuAmpOptimWrapper`` where the CPU has native bf16, refused naming the
CPU where it has not. Both answers are pinned (the ``native_bf16``
fixture), so both branches run on any CPU; where bf16 is not native it
runs emulated, on small inputs."""

import glob
import math
import os.path as osp
import re
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from tool_loader import load_tool
from toy_training import TOY, logged_losses, options

from sfseg.acceleration import cpu_info
from sfseg.engine import enable_amp
from sfseg.engine.optim_wrappers import SFCpuAmpOptimWrapper
from sfseg.utils import SFSegUserError, load_checkpoint_file


def wrapper_config(**wrapper):
    return Config(dict(optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=0.01), **wrapper)))  # fmt: skip


@pytest.mark.parametrize('native_bf16', [False, True], indirect=True)
def test_enable_amp_per_device(native_bf16):
    cfg = wrapper_config(type='SFOptimWrapper', nonfinite='skip')
    if not native_bf16:
        named = re.escape(f'--amp on {cpu_info.cpu_model()}: ')
        with pytest.raises(SFSegUserError, match=named + '.*train in fp32'):
            enable_amp(cfg, 'cpu')
        assert cfg.optim_wrapper.type == 'SFOptimWrapper'  # untouched
    else:
        assert enable_amp(cfg, 'cpu') is True
        assert cfg.optim_wrapper.type == 'SFCpuAmpOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'
        assert cfg.optim_wrapper.nonfinite == 'skip'  # the guard stays
        assert enable_amp(cfg, 'cpu') is False  # already mixed precision
    cfg = wrapper_config(type='SFOptimWrapper', nonfinite='skip', max_skips=2)
    assert enable_amp(cfg, 'cuda') is True  # whatever the CPU
    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'AmpOptimWrapper'
    assert (wrapper.dtype, wrapper.loss_scale) == ('float16', 'dynamic')
    assert 'nonfinite' not in wrapper and 'max_skips' not in wrapper
    assert enable_amp(cfg, 'cuda') is False


def test_cpu_amp_wrapper_is_bf16_only():
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="bfloat16 only, not 'float16'"):
        SFCpuAmpOptimWrapper(optimizer=optimizer, dtype='float16')
    wrapper = SFCpuAmpOptimWrapper(optimizer=optimizer)
    with wrapper.optim_context(model):
        out = model(torch.ones(1, 4))
    assert out.dtype == torch.bfloat16 and model.weight.dtype == torch.float32
    assert model(torch.ones(1, 4)).dtype == torch.float32  # only inside


def train(work, root, *extra):
    """tools/train.py's main in this process (so the pinned CPU answer
    holds), 4 toy iterations, a checkpoint every 2."""
    tool = load_tool('tools/train.py')
    argv = ['train.py', TOY, '--work-dir', str(work), '--amp', *extra]
    argv += ['--cfg-options', *options(root, 2), 'train_cfg.max_iters=4']
    # mmengine keeps one visualizer per name in the process
    argv.append(f'visualizer.name={work}')
    # the Runner installs its default scope; restore the session's after
    with (
        pytest.MonkeyPatch.context() as mp,
        DefaultScope.overwrite_default_scope('mmseg'),
    ):
        mp.setattr('sys.argv', argv)
        tool.main()


def run_losses(work):
    """``{iteration: total loss}`` of the run's text log."""
    (log,) = glob.glob(osp.join(work, '*', '*.log'))
    with open(log) as f:
        return logged_losses(f.read())


def test_amp_refused_on_a_cpu_without_native_bf16(toy_city, tmp_path):
    with pytest.raises(SFSegUserError, match='--amp on .*no native support'):
        train(tmp_path / 'work', toy_city)
    assert not osp.exists(tmp_path / 'work' / 'iter_2.pth')


@pytest.mark.parametrize('native_bf16', [True], indirect=True)
def test_amp_trains_in_bf16_and_resumes_exactly(
    native_bf16, toy_city, tmp_path, monkeypatch
):
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead

    seen = set()
    cls_seg = BaseDecodeHead.cls_seg

    def recording(self, feat):
        out = cls_seg(self, feat)
        seen.add((out.dtype, self.conv_seg.weight.dtype))
        return out

    monkeypatch.setattr(BaseDecodeHead, 'cls_seg', recording)
    straight = tmp_path / 'straight'
    train(straight, toy_city)
    # the forward in bf16, the weights in fp32
    assert seen == {(torch.bfloat16, torch.float32)}, seen
    losses = run_losses(straight)
    assert sorted(losses) == [1, 2, 3, 4]
    assert all(map(math.isfinite, losses.values())), losses
    end = load_checkpoint_file(str(straight / 'iter_4.pth'))
    assert end['optimizer']['state']  # SGD momentum, fp32
    for value in end['state_dict'].values():
        assert value.dtype in (torch.float32, torch.int64)

    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(straight / 'iter_2.pth', resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    train(resumed, toy_city, '--resume')
    assert sorted(run_losses(resumed)) == [3, 4]
    again = load_checkpoint_file(str(resumed / 'iter_4.pth'))
    assert again['state_dict'].keys() == end['state_dict'].keys()
    for key, value in end['state_dict'].items():
        assert torch.equal(value, again['state_dict'][key]), key
    for index, state in end['optimizer']['state'].items():
        buf = again['optimizer']['state'][index]['momentum_buffer']
        assert torch.equal(state['momentum_buffer'], buf), index

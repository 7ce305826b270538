"""Weights-only checkpoint loading with sfseg's allowlist.

Real Runner checkpoints (written by a tiny mmengine Runner here) and
official-format files load without any switch; a file with a
``__reduce__`` payload, or one that abuses ``getattr``, is refused with a
message naming the global and the trust switch, and its code never runs.
"""

import io
import pickle
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.runner import CheckpointLoader

from sfseg.utils.checkpoint import (
    TRUST_ENV,
    UntrustedCheckpointError,
    allowlist_names,
    load_checkpoint_file,
)


class AttrPayload:
    """Pickles as ``getattr(np.ndarray, 'tofile')``."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def save_evil(path, payload):
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': payload}, path)


def as_numpy1_file(src, dst):
    """Rewrite a checkpoint's pickle with numpy 1.x global names, as the
    official code (numpy 1) wrote its files."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('data.pkl'):
                data = data.replace(b'numpy._core.', b'numpy.core.')
            zout.writestr(item, data)


@pytest.fixture(autouse=True)
def _untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A checkpoint written by mmengine's Runner (message hub, schedulers,
    optimizer, best-checkpoint metric)."""
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return dict(x=torch.full((3,), float(i)), y=torch.tensor(i % 2.0))

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)
            self.bn = nn.BatchNorm1d(1)

        def forward(self, x, y, mode='tensor'):
            out = self.bn(self.fc(torch.stack(x))).squeeze(1)
            if mode == 'loss':
                return dict(loss=((out - torch.stack(y)) ** 2).mean())
            return [dict(p=float(o)) for o in out]

    class Metric(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results += [d['p'] for d in data_samples]

        def compute_metrics(self, results):
            return dict(score=float(np.mean(results)))

    work = tmp_path_factory.mktemp('runner')
    loader = dict(
        dataset=Data(),
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_size=4,
    )
    # the Runner installs its default scope ('mmengine'); restore the
    # session's after, or later registry builds look in mmengine's
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = Runner(
            model=Model(),
            work_dir=str(work),
            train_dataloader=loader,
            val_dataloader=dict(loader, sampler=dict(type='DefaultSampler')),
            val_evaluator=dict(type=Metric),
            val_cfg=dict(),
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9)
            ),
            param_scheduler=[dict(type='PolyLR', by_epoch=False, end=10)],
            train_cfg=dict(by_epoch=False, max_iters=2, val_interval=2),
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook',
                    by_epoch=False,
                    interval=2,
                    save_best='score',
                    rule='greater',
                )
            ),
            randomness=dict(seed=0),
        )
        runner.train()
    return str(work / 'iter_2.pth')


def test_runner_checkpoint_loads_without_switch(runner_checkpoint):
    from mmengine.logging import HistoryBuffer

    ckpt = CheckpointLoader.load_checkpoint(runner_checkpoint, 'cpu')
    assert {'meta', 'state_dict', 'optimizer', 'message_hub'} <= set(ckpt)
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.min() <= buffer.mean() <= buffer.max()
    assert ckpt['meta']['iter'] == 2


def test_allowlist_is_exactly_what_runner_checkpoints_need(runner_checkpoint):
    needed = set(
        torch.serialization.get_unsafe_globals_in_checkpoint(runner_checkpoint)
    )
    assert needed <= set(allowlist_names())
    # nothing module-level that could run code
    for name in allowlist_names():
        assert not name.startswith(('os.', 'posix.', 'subprocess.', 'sys.'))
    assert 'builtins.eval' not in allowlist_names()


def test_allowlist_is_scoped_to_sfseg_loads(runner_checkpoint):
    # Other code keeps torch's plain weights-only behaviour.
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(runner_checkpoint, weights_only=True)


def official_release(path, numpy1=False):
    """What lxtGH/SFSegNets' evaluate_eval saves: module.-prefixed
    state_dict, SGD optimizer state, epoch, numpy mean_iu, command."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    optim = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    net(torch.randn(1, 3, 8, 8)).sum().backward()
    optim.step()
    obj = {
        'state_dict': {f'module.{k}': v for k, v in net.state_dict().items()},
        'optimizer': optim.state_dict(),
        'epoch': 299,
        'mean_iu': np.nanmean(np.array([0.78, 0.80])),
        'command': 'train.py --arch network.sfnet_resnet.DeepR18_SF_deeply',
    }
    if not numpy1:
        torch.save(obj, path)
        return path
    tmp = str(path) + '.np2'
    torch.save(obj, tmp)
    as_numpy1_file(tmp, path)
    return path


@pytest.mark.parametrize('numpy1', [False, True])
def test_official_release_format_loads(tmp_path, numpy1):
    path = official_release(tmp_path / 'best.pth', numpy1)
    if numpy1:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        assert 'numpy.core.multiarray.scalar' in names
    ckpt = load_checkpoint_file(str(path), map_location='cpu')
    assert ckpt['epoch'] == 299
    assert float(ckpt['mean_iu']) == pytest.approx(0.79)
    assert 'momentum_buffer' in ckpt['optimizer']['state'][0]


def test_reduce_payload_is_refused_and_never_runs(tmp_path, code_payload):
    payload, marker = code_payload
    path = str(tmp_path / 'evil.pth')
    save_evil(path, payload)
    with pytest.raises(UntrustedCheckpointError) as err:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    message = str(err.value)
    assert path in message and 'posix.system' in message
    assert f'{TRUST_ENV}=1' in message
    assert not marker.exists()
    with pytest.raises(UntrustedCheckpointError, match='posix.system'):
        load_checkpoint_file(path)
    assert not marker.exists()


class StrAttrPayload:
    """Pickles as ``getattr('x', 'upper')``."""

    def __reduce__(self):
        return (getattr, ('x', 'upper'))


@pytest.mark.parametrize('payload', [AttrPayload, StrAttrPayload])
def test_getattr_only_reads_history_buffer_methods(tmp_path, payload):
    path = str(tmp_path / 'attr.pth')
    torch.save({'a': payload()}, path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint_file(path)
    assert 'getattr(' in str(err.value) and 'not allowed' in str(err.value)


def test_trust_switch_loads_a_trusted_file(
    tmp_path, monkeypatch, code_payload
):
    payload, marker = code_payload
    path = str(tmp_path / 'trusted.pth')
    save_evil(path, payload)
    monkeypatch.setenv(TRUST_ENV, '1')
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(1))
    assert marker.exists()  # the user asked for the full unpickler


def test_missing_and_broken_files_keep_their_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='can not be found'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))
    broken = tmp_path / 'broken.pth'
    buf = io.BytesIO()
    torch.save({'w': torch.ones(3)}, buf)
    broken.write_bytes(buf.getvalue()[:40])
    with pytest.raises(Exception) as err:
        load_checkpoint_file(str(broken))
    assert not isinstance(err.value, UntrustedCheckpointError)


def test_empty_arrays_load_but_bytes_takes_no_arguments(tmp_path):
    from mmengine.logging import HistoryBuffer

    path = str(tmp_path / 'empty.pth')
    torch.save({'buf': HistoryBuffer(), 'a': np.zeros(0)}, path)
    assert load_checkpoint_file(path)['a'].shape == (0,)

    class Alloc:
        def __reduce__(self):
            return (bytes, (10,))

    torch.save({'a': Alloc()}, path)
    with pytest.raises(UntrustedCheckpointError, match='bytes'):
        load_checkpoint_file(path)


def test_a_saved_web_page_is_named_as_such(tmp_path):
    """What wget or ``mim download`` saves for a Drive / OneDrive link."""
    from sfseg.utils import CheckpointFileError, load_checkpoint_file

    page = tmp_path / 'sfnet_lite_r18.pth'
    page.write_bytes(b'  <!DOCTYPE html><html><head><title>Google Drive')
    with pytest.raises(
        CheckpointFileError,
        match=r'sfnet_lite_r18.pth is a web page, not a checkpoint \(it '
        r"starts with b'<!DOCTYPE html>'\): .*download the file itself",
    ):
        load_checkpoint_file(str(page))

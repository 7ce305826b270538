"""A checkpoint carrying code is refused on every path that loads one.

The file pickles ``os.system('touch <marker>')``; each path must stop with
a message naming the global (``posix.system``) and the trust switch, and
the marker must never appear.
"""

import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from common import REPO

TOY_CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)
BIN = osp.dirname(sys.executable)


@pytest.fixture
def evil(tmp_path, code_payload):
    payload, marker = code_payload
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': payload}, path)
    return str(path), marker


def toy_image(root):
    return sorted(glob.glob(osp.join(root, 'leftImg8bit', 'test', '*', '*')))[
        0
    ]


def overrides(root):
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_cfg.max_iters=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]


def refused(cmd, marker, cwd=None, installed=False):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('SFSEG_TRUST_CHECKPOINTS', None)
    if installed:
        env.pop('PYTHONPATH', None)
        env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    else:
        env['PYTHONPATH'] = REPO
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert 'posix.system' in out, out[-3000:]
    assert 'SFSEG_TRUST_CHECKPOINTS=1' in out, out[-3000:]
    assert not marker.exists()
    return out


def test_init_model_refuses(evil):
    from mmseg.apis import init_model

    from sfseg.utils import UntrustedCheckpointError

    path, marker = evil
    with pytest.raises(UntrustedCheckpointError, match='posix.system'):
        init_model(TOY_CFG, path, device='cpu')
    assert not marker.exists()


def test_segment_refuses(evil, toy_city, tmp_path):
    path, marker = evil
    img = toy_image(toy_city)
    out = refused(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'segment.py'),
            img,
            TOY_CFG,
            path,
            '--out-dir',
            str(tmp_path / 'seg'),
        ],
        marker,
    )
    assert out.strip().splitlines()[-1].startswith('error: ')


def test_visualize_flow_refuses(evil, toy_city, tmp_path):
    path, marker = evil
    img = toy_image(toy_city)
    refused(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'analysis_tools', 'visualize_flow.py'),
            img,
            TOY_CFG,
            path,
            '--out-file',
            str(tmp_path / 'flows.png'),
        ],
        marker,
    )


def test_pytorch2onnx_refuses(evil, tmp_path):
    path, marker = evil
    refused(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py'),
            TOY_CFG,
            path,
            '--output',
            str(tmp_path / 'm.onnx'),
        ],
        marker,
    )
    assert not (tmp_path / 'm.onnx').exists()


def test_train_load_from_refuses(evil, toy_city, tmp_path):
    path, marker = evil
    refused(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            TOY_CFG,
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            f'load_from={path}',
        ]
        + overrides(toy_city),
        marker,
    )


def test_train_resume_refuses(evil, toy_city, tmp_path):
    path, marker = evil
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(path)
    refused(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            TOY_CFG,
            '--work-dir',
            str(work),
            '--resume',
            '--cfg-options',
        ]
        + overrides(toy_city),
        marker,
    )


def test_mim_test_refuses(evil, toy_city, tmp_path):
    mim = osp.join(BIN, 'mim')
    if not osp.isfile(mim):
        pytest.fail('mim is not installed: run `make install` first')
    path, marker = evil
    refused(
        [
            mim,
            'test',
            'sfseg',
            osp.basename(TOY_CFG),
            '--checkpoint',
            path,
            '--work-dir',
            'test',
            '--cfg-options',
        ]
        + overrides(toy_city),
        marker,
        cwd=tmp_path,
        installed=True,
    )

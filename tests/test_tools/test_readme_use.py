"""The README's "Use" commands, run as written from outside the repository
with the installed package (the toy config and data stand in for
Cityscapes; training is cut to 2 iterations)."""

import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import pytest
from common import REPO

from sfseg.official_checks.official_layouts import (
    OFFICIAL_KEYS,
    runnable_state,
    save_released,
)

BIN = osp.dirname(sys.executable)
TOY_CFG = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
KEYS = OFFICIAL_KEYS


def use_blocks():
    """The shell and the Python block of the README's "## Use" section."""
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    section = text.split('\n## Use\n', 1)[1].split('\n## ', 1)[0]
    shell = re.search(r'```shell\n(.*?)```', section, re.S).group(1)
    python = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    return shell, python


def substitute(block, replacements):
    """Replace whole lines starting with each key; every key must match."""
    lines = block.splitlines()
    for start, new in replacements.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(start)]
        assert hits, f'README Use block has no line starting with {start!r}'
        for i in hits:
            lines[i] = new(lines[i]) if callable(new) else new
    return '\n'.join(lines) + '\n'


def short_training(line):
    # The README trains the full schedule; here 2 iterations of the toy.
    return line + (
        ' --cfg-options train_cfg.max_iters=2 train_cfg.val_interval=2'
        ' default_hooks.checkpoint.interval=2'
        ' train_dataloader.num_workers=0'
        ' train_dataloader.persistent_workers=False'
    )


@pytest.fixture
def outside(tmp_path, toy_city):
    """A working directory outside the repo with the inputs the README
    names: a street image and an official checkpoint."""
    shutil.copy(
        sorted(
            osp.join(r, f)
            for r, _, fs in os.walk(osp.join(toy_city, 'leftImg8bit', 'val'))
            for f in fs
        )[0],
        tmp_path / 'street.png',
    )
    save_released(
        runnable_state(KEYS, 'sfnet_lite_r18'),
        str(tmp_path / 'sfnet_lite_r18.pth'),
    )
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)  # the installed package, not the repo
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    env['OMP_NUM_THREADS'] = '1'
    assert not str(tmp_path).startswith(REPO)
    return tmp_path, env


def run(cmd, cwd, env, timeout=1200):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd[:2]} failed:\n{out[-5000:]}'
    return out


def test_readme_use_block_from_outside_the_repo(outside, toy_city):
    if not osp.isfile(osp.join(BIN, 'mim')):
        pytest.fail('mim is not installed: run `make install` first')
    cwd, env = outside
    shell, python = use_blocks()
    script = substitute(
        shell,
        {
            'CONFIG=': f'CONFIG={TOY_CFG}',
            'DATA=': f'DATA={toy_city}',
            'mim train ': short_training,
        },
    )
    out = run(['bash', '-euo', 'pipefail', '-c', script], cwd, env)
    ckpt = cwd / 'work_dirs' / 'lite' / 'iter_2.pth'
    assert ckpt.is_file()
    assert re.search(r'Iter\(test\) \[\d+/\d+\].*mIoU: \d', out), out[-3000:]
    assert 'Params: 12,079,863' in out
    overlay = cv2.imread(str(cwd / 'out' / 'vis' / 'street.png'))
    labels = cv2.imread(
        str(cwd / 'out' / 'pred' / 'street_pred.png'), cv2.IMREAD_UNCHANGED
    )
    street = cv2.imread(str(cwd / 'street.png'))
    assert overlay.shape == street.shape
    assert labels.shape == street.shape[:2] and labels.max() < 19
    assert (cwd / 'flows.png').stat().st_size > 10_000
    assert (
        'sfnet_lite_r18.pth: an official SFSegNets sfnet_lite_r18 file, '
        'read in memory' in out
    )
    official = cv2.imread(
        str(cwd / 'out_official' / 'pred' / 'street_pred.png'),
        cv2.IMREAD_UNCHANGED,
    )
    assert official.shape == street.shape[:2] and official.max() < 19
    assert (cwd / 'sfnet_lite_r18_sfseg.pth').is_file()
    assert (cwd / 'model.onnx').is_file()

    script = substitute(
        python,
        {
            'config = ': f'config = {TOY_CFG!r}',
            'checkpoint = ': f'checkpoint = {str(ckpt)!r}',
        },
    )
    script += 'print("labels", tuple(labels.shape), int(labels.max()))\n'
    out = run([sys.executable, '-c', script], cwd, env)
    assert f'labels {street.shape[:2]}' in out, out[-3000:]
    assert (cwd / 'out_py' / 'vis' / 'street.png').is_file()

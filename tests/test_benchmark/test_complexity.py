import os
import os.path as osp
import subprocess
import sys

import pytest
from common import REPO
from mmengine.config import Config

from sfseg.benchmark import count_flops


def test_flops_of_sfnet_lite_scale_with_input():
    cfg = Config.fromfile(
        osp.join(
            REPO,
            'configs',
            'sfnet_lite',
            'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
        )
    )
    small, params = count_flops(cfg, (64, 128))
    large, _ = count_flops(cfg, (128, 256))
    assert params == 12079863
    # Convolutions dominate: 4x the pixels, ~4x the FLOPs. The official
    # model is 177.95 GMAC at 1024x2048 (brief 4.2), i.e. 0.695 at 64x128.
    assert 3.8 < large / small < 4.2
    assert small == pytest.approx(177.95 / 256, rel=0.03)


def test_cli_prints_flops_and_params():
    out = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py'),
            osp.join(
                REPO,
                'configs',
                'sfnet',
                'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
            ),
            '--shape',
            '64',
            '128',
        ],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'Input shape: 1x3x64x128' in out
    assert 'Params: 12,869,715' in out
    assert 'GFLOPs' in out

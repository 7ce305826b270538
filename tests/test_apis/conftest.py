"""Fixtures of the inference API tests: the toy config's random-weight
checkpoint and a switch for the CPU's native bf16 (mocked ISA)."""

import pytest
import torch

from sfseg.acceleration import cpu_info

TOY = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'


@pytest.fixture
def native(monkeypatch):
    def set_native(value):
        monkeypatch.setattr(cpu_info, 'has_native_bf16', lambda: value)
        monkeypatch.setattr(cpu_info, 'cpu_model', lambda: 'Mocked CPU')

    return set_native


@pytest.fixture(scope='session')
def toy_ckpt(tmp_path_factory):
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from sfseg.utils import resolve_config

    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(resolve_config(TOY)).model)
    path = str(tmp_path_factory.mktemp('toy_ckpt') / 'toy.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path

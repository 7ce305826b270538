"""SFRandomStateHook's states survive a GPU resume: they are moved to the
CPU before use (mmengine loads checkpoints onto the current device) and
each rank saves and restores its own device's CUDA state only. CUDA is
mocked here; the real GPU resume is in .dev_scripts/gpu_check.sh
territory (issue 25)."""

import random

import numpy as np
import pytest
import torch

from sfseg.engine.hooks import rng_state_hook as hook


def draws():
    return (
        torch.rand(3).tolist(),
        np.random.rand(3).tolist(),
        [random.random() for _ in range(3)],
    )


class OnDevice(torch.Tensor):
    """Stands in for a CUDA tensor on a CPU-only machine: ``.cpu()``
    gives a plain CPU tensor, anything else keeps the subclass."""

    def cpu(self):
        return self.as_subclass(torch.Tensor).clone()


def on_device(value):
    if isinstance(value, torch.Tensor):
        return value.as_subclass(OnDevice)
    if isinstance(value, dict):
        return {k: on_device(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(on_device(v) for v in value)
    return value


@pytest.fixture
def strict_set_rng_state(monkeypatch):
    """torch.set_rng_state as on a GPU machine after map_location='cuda':
    it takes plain CPU byte tensors only."""
    real = torch.set_rng_state

    def strict(state):
        if type(state) is not torch.Tensor or state.device.type != 'cpu':
            raise TypeError('expected a CPU ByteTensor')
        real(state)

    monkeypatch.setattr(torch, 'set_rng_state', strict)


def test_states_loaded_onto_a_device_restore_exactly(strict_set_rng_state):
    saved = hook.capture()
    first = draws()
    with pytest.raises(TypeError, match='CPU ByteTensor'):
        torch.set_rng_state(on_device(saved)['torch'])
    hook.restore(on_device(saved))
    assert draws() == first


def test_to_cpu_keeps_the_structure():
    state = dict(a=[on_device(torch.arange(3)), (1, 'x')], b=None)
    moved = hook.to_cpu(state)
    assert type(moved['a'][0]) is torch.Tensor
    assert moved['a'][0].tolist() == [0, 1, 2]
    assert moved['a'][1] == (1, 'x') and moved['b'] is None


class FakeCuda:
    """torch.cuda with ``count`` GPUs, the current one ``current``."""

    def __init__(self, count, current):
        self.states = [torch.full((4,), i, dtype=torch.uint8) for i in
                       range(count)]  # fmt: skip
        self.current = current
        self.set = []

    def install(self, monkeypatch):
        cuda = torch.cuda
        monkeypatch.setattr(cuda, 'is_available', lambda: True)
        monkeypatch.setattr(cuda, 'current_device', lambda: self.current)
        monkeypatch.setattr(
            cuda, 'get_rng_state', lambda: self.states[self.current]
        )
        monkeypatch.setattr(
            cuda, 'get_rng_state_all', lambda: list(self.states)
        )
        monkeypatch.setattr(cuda, 'set_rng_state', self.set.append)
        monkeypatch.setattr(
            cuda,
            'set_rng_state_all',
            lambda states: pytest.fail('restores every GPU'),
        )
        return self


def test_each_rank_saves_and_restores_its_own_device(monkeypatch):
    cuda = FakeCuda(count=4, current=2).install(monkeypatch)
    state = hook.capture()
    assert torch.equal(state['cuda'], cuda.states[2])  # one device only
    hook.restore(on_device(state))
    (restored,) = cuda.set
    assert type(restored) is torch.Tensor and torch.equal(
        restored, cuda.states[2]
    )


def test_states_of_every_gpu_from_older_checkpoints(monkeypatch):
    saved = hook.capture()
    saved['cuda'] = [torch.full((4,), i, dtype=torch.uint8) for i in range(2)]
    # the current device's state where it exists
    cuda = FakeCuda(count=2, current=1).install(monkeypatch)
    hook.restore(on_device(saved))
    assert cuda.set[0].tolist() == [1] * 4
    # a process that sees more GPUs than were saved: no CUDA state, no error
    cuda = FakeCuda(count=4, current=3).install(monkeypatch)
    hook.restore(on_device(saved))
    assert cuda.set == []

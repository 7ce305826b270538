import os

import pytest
from common import REPO

# Keep the 2-core machine responsive and results repeatable.
os.environ.setdefault('OMP_NUM_THREADS', '2')


def pytest_collection_modifyitems(config, items):
    """Where OpenVINO cannot run in this process (AVX2 kernels emulated
    with ONEDNN_MAX_CPU_ISA on an AVX-512 CPU), the tests that run it are
    skipped with the reason: those parametrized with it and those marked
    ``openvino``."""
    from sfseg.deploy.runtimes import openvino_refusal

    reason = openvino_refusal()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        params = getattr(item, 'callspec', None)
        values = params.params.values() if params else ()
        if 'openvino' in values or item.get_closest_marker('openvino'):
            item.add_marker(skip)


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def toy_city(tmp_path_factory):
    """A tiny toy Cityscapes-layout dataset shared by the training tests."""
    from sfseg.datasets.toy.driving import generate

    root = tmp_path_factory.mktemp('toy_city')
    generate(
        str(root),
        num_train=8,
        num_val=2,
        num_test=1,
        size=(64, 128),
        seed=1,
        show_progress=False,
    )
    return str(root)


_BF16_FLAGS = frozenset({'avx512_bf16', 'amx_bf16'})


@pytest.fixture(autouse=True)
def native_bf16(request, monkeypatch):
    """Pin the CPU's native-bf16 answer, so every test takes the same
    ISA-dependent branches (``--precision auto``, benchmark skips) on every
    CPU: not native, unless parametrized indirectly, e.g.
    ``@pytest.mark.parametrize('native_bf16', [False, True],
    indirect=True)``. On a CPU without native bf16 the bf16 path then runs
    emulated, so such tests use small inputs."""
    from sfseg.acceleration import cpu_info

    native = bool(getattr(request, 'param', False))
    model, flags = cpu_info._cpuinfo()
    flags = flags | _BF16_FLAGS if native else flags - _BF16_FLAGS
    monkeypatch.setattr(cpu_info, '_cpuinfo', lambda: (model, flags))
    return native


@pytest.fixture(scope='session', autouse=True)
def _register():
    from mmseg.utils import register_all_modules

    import sfseg  # noqa: F401

    register_all_modules(init_default_scope=True)


class CodePayload:
    """Pickles as ``os.system('touch <marker>')``: a checkpoint holding it
    runs that command when unpickled without restrictions."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.fixture
def code_payload(tmp_path):
    """``(payload, marker path)``; the marker appears if the code ran."""
    marker = tmp_path / 'payload_ran'
    return CodePayload(marker), marker

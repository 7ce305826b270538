"""CPU description used by speed reports (mocked /proc/cpuinfo flags)."""

import os

import pytest
import torch

from sfseg.acceleration import cpu_info


@pytest.fixture
def fake_cpu(monkeypatch):
    def use(model, flags):
        monkeypatch.setattr(
            cpu_info, '_cpuinfo', lambda: (model, frozenset(flags.split()))
        )

    return use


def test_avx2_only_cpu(fake_cpu):
    fake_cpu('AMD EPYC', 'fpu sse4_2 avx avx2 fma')
    assert cpu_info.isa_extensions() == ['AVX2']
    assert not cpu_info.has_native_bf16()
    text = cpu_info.describe()
    assert text.startswith('AMD EPYC (AVX2; no native bf16')


def test_avx512_bf16_cpu(fake_cpu):
    fake_cpu(
        'Intel Xeon Platinum 8480',
        'avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_int8',
    )
    assert cpu_info.has_native_bf16()
    assert cpu_info.isa_extensions() == [
        'AVX2',
        'AVX-512',
        'AVX-512 VNNI',
        'AVX-512 BF16',
        'AMX-BF16',
        'AMX-INT8',
    ]
    assert 'no native bf16' not in cpu_info.describe()


def test_this_machine_is_described():
    model, flags = cpu_info._cpuinfo()
    assert cpu_info.describe().startswith(model)
    assert ('AVX2' in cpu_info.describe()) == ('avx2' in flags)


def test_inductor_cache_keyed_by_the_kernels_isa(monkeypatch, tmp_path):
    """A graph compiled with AVX-512 kernels crashed a run limited to AVX2
    that found it in Inductor's cache: each ISA gets its own folder."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    default = default_cache_dir()
    monkeypatch.delenv('TORCHINDUCTOR_CACHE_DIR', raising=False)
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    monkeypatch.setattr(
        torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX512'
    )
    native = cpu_info.key_inductor_cache()
    assert native == f'{default}/avx512-native'
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
    monkeypatch.setattr(
        torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX2'
    )
    assert cpu_info.key_inductor_cache() == f'{default}/avx2-avx2'
    assert os.environ['TORCHINDUCTOR_CACHE_DIR'] == f'{default}/avx2-avx2'
    # torch's own default (set once resolved) is keyed too; a user's kept
    monkeypatch.setenv('TORCHINDUCTOR_CACHE_DIR', default)
    assert cpu_info.key_inductor_cache() == f'{default}/avx2-avx2'
    monkeypatch.setenv('TORCHINDUCTOR_CACHE_DIR', str(tmp_path))
    assert cpu_info.key_inductor_cache() == str(tmp_path)

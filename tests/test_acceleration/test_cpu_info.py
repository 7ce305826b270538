"""CPU description used by speed reports (mocked /proc/cpuinfo flags)."""

import pytest

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

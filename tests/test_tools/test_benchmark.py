import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))

from benchmark import main, skipped_variants  # noqa: E402

from sfseg.acceleration import cpu_info  # noqa: E402

LITE_R18 = osp.join(
    REPO,
    'configs',
    'sfnet_lite',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
)


def test_benchmark_writes_table_json_and_plot(tmp_path):
    out = tmp_path / 'bench'
    main(
        [
            LITE_R18,
            '--variants',
            'eager',
            'nocache',
            'fold',
            'fast',
            'bf16',
            'onnx',
            'int8',
            'openvino',
            'openvino-int8',
            '--shape',
            '64',
            '128',
            '--rounds',
            '2',
            '--out-dir',
            str(out),
            '--force-bf16',
        ]
    )
    result = json.loads((out / 'benchmark.json').read_text())
    assert result['shape'] == [64, 128] and result['matmul_gflops'] > 1
    (row,) = result['rows']
    assert row['params'] == 12079863
    assert row['miou'].startswith('78.3')
    assert set(row['variants']) == {
        'eager',
        'nocache',
        'fold',
        'fast',
        'bf16',
        'onnx',
        'int8',
        'openvino',
        'openvino-int8',
    }
    for name, v in row['variants'].items():
        assert v['min_s'] <= v['median_s'] <= v['max_s']
        assert v['x_roofline'] > 0
    # fp32 variants change no output beyond 1e-4; bf16 agrees on most pixels
    for name in ('nocache', 'fold', 'fast', 'onnx', 'openvino'):
        assert row['variants'][name]['max_abs_diff'] < 1e-4
    assert row['variants']['bf16']['argmax_agreement'] > 0.9
    for name in ('int8', 'openvino-int8'):
        assert row['variants'][name]['argmax_agreement'] > 0.5
    assert result['device'] == 'cpu'
    assert result['cpu'] == cpu_info.describe()
    assert result['isa'] == cpu_info.isa_extensions()
    assert result['skipped'] == {}  # --force-bf16
    table = (out / 'benchmark.md').read_text()
    assert f'CPU: {cpu_info.describe()}' in table
    assert '| sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024 |' in table
    assert 'quoted' in table
    assert (out / 'speed_accuracy.png').stat().st_size > 10000


def test_bf16_is_skipped_without_native_bf16(monkeypatch, tmp_path):
    import torch

    cpu = torch.device('cpu')
    monkeypatch.setattr(
        cpu_info, '_cpuinfo', lambda: ('AMD EPYC', frozenset({'avx2'}))
    )
    skipped = skipped_variants(['eager', 'bf16'], cpu)
    assert set(skipped) == {'bf16'}
    assert skipped['bf16'].startswith('skipped: no native bf16 on AMD EPYC')
    assert skipped_variants(['eager', 'bf16'], cpu, force_bf16=True) == {}
    monkeypatch.setattr(
        cpu_info,
        '_cpuinfo',
        lambda: ('Xeon', frozenset({'avx2', 'avx512f', 'avx512_bf16'})),
    )
    assert skipped_variants(['eager', 'bf16'], cpu) == {}
    # the table says so
    monkeypatch.setattr(
        cpu_info, '_cpuinfo', lambda: ('AMD EPYC', frozenset({'avx2'}))
    )
    out = tmp_path / 'bench'
    main(
        [
            LITE_R18,
            '--variants',
            'eager',
            'bf16',
            '--shape',
            '64',
            '128',
            '--rounds',
            '1',
            '--out-dir',
            str(out),
        ]
    )
    result = json.loads((out / 'benchmark.json').read_text())
    assert set(result['rows'][0]['variants']) == {'eager'}
    assert result['native_bf16'] is False
    table = (out / 'benchmark.md').read_text()
    assert '| bf16 | skipped: no native bf16 on AMD EPYC (AVX2)' in table

import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))

from benchmark import main  # noqa: E402


def test_benchmark_writes_table_json_and_plot(tmp_path):
    out = tmp_path / 'bench'
    main(
        [
            osp.join(
                REPO,
                'configs',
                'sfnet_lite',
                'sfnet-lite_r18-d32_8xb2-50k_cityscapes-1024x1024.py',
            ),
            '--variants',
            'eager',
            'nocache',
            'fold',
            'fast',
            'bf16',
            'onnx',
            'int8',
            '--shape',
            '64',
            '128',
            '--rounds',
            '2',
            '--out-dir',
            str(out),
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
    }
    for name, v in row['variants'].items():
        assert v['min_s'] <= v['median_s'] <= v['max_s']
        assert v['x_roofline'] > 0
    # fp32 variants change no output beyond 1e-4; bf16 agrees on most pixels
    for name in ('nocache', 'fold', 'fast', 'onnx'):
        assert row['variants'][name]['max_abs_diff'] < 1e-4
    assert row['variants']['bf16']['argmax_agreement'] > 0.9
    assert row['variants']['int8']['argmax_agreement'] > 0.5
    assert result['device'] == 'cpu'
    table = (out / 'benchmark.md').read_text()
    assert '| sfnet-lite_r18-d32_8xb2-50k_cityscapes-1024x1024 |' in table
    assert 'quoted' in table
    assert (out / 'speed_accuracy.png').stat().st_size > 10000

"""profile_heads.py: per-operator times of both warp paths."""

from tool_loader import load_tool

tool = load_tool('tools/analysis_tools/profile_heads.py')
COMPARISONS, main, profile = tool.COMPARISONS, tool.main, tool.profile

LITE_STDC1 = 'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024.py'


def profile_small(config, compare, calls=False):
    """(before ops, after ops, max abs difference) at 64x128, 1 round:
    their times, or with ``calls`` their numbers of calls."""
    best, diff = profile(config, (64, 128), rounds=1, compare=compare)
    before, after = COMPARISONS[compare]
    column = 2 if calls else 0
    return best[before][column], best[after][column], diff


def test_both_paths_profiled_with_equal_outputs(tmp_path):
    best, diff = profile(LITE_STDC1, (64, 128), rounds=1)
    before, after = best['grid_sample'][0], best['gather'][0]
    assert diff < 1e-5
    assert before['grid_sampler_2d'] > 0 and 'grid_sampler_2d' not in after
    # the gather warps add to the fusion's gathers (in both paths): more
    # calls (their times are measured, so not compared here)
    bags = '_embedding_bag_forward_only'
    calls_before, calls_after = best['grid_sample'][2], best['gather'][2]
    assert calls_after[bags] > calls_before[bags] > 0
    assert after[bags] > 0 and before[bags] > 0
    assert before['convolutions'] > 0 and after['convolutions'] > 0
    out = tmp_path / 'profile.md'
    tables = main(
        [
            LITE_STDC1,
            '--shape',
            '64',
            '128',
            '--rounds',
            '1',
            '--out',
            str(out),
        ]
    )
    text = out.read_text()
    assert text == '\n'.join(tables)
    assert '| convolutions |' in text and 'CPU:' in text
    assert 'grid_sampler_2d' in text


def test_nnpack_comparison_profiles_nnpack_kernels(monkeypatch):
    from sfseg.acceleration import NNPACKConv2d

    # NNPACK for every eligible conv, whatever the timing says
    monkeypatch.setattr(
        NNPACKConv2d, '_choose', lambda self, x, o: ('nnpack', None)
    )
    before, after, diff = profile_small(
        'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py', 'nnpack', True
    )
    assert diff < 1e-4
    assert after['convolutions (NNPACK)'] > 0
    assert 'convolutions (NNPACK)' not in before
    # NNPACK's calls are taken from oneDNN's (counted: times vary)
    assert before['convolutions'] > after['convolutions'] > 0
    assert 'max_pool2d_with_indices' in before
    assert 'max_pool2d_with_indices' not in after  # separable pooling


def test_fusion_comparison_profiles_the_low_res_shares():
    before, after, diff = profile_small(
        'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py', 'fusion'
    )
    assert diff < 1e-5
    assert after['mm'] > 0 and 'mm' not in before  # the tap products
    assert after['_embedding_bag_forward_only'] > before.get(
        '_embedding_bag_forward_only', 0
    )

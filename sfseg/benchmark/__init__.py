"""The latency benchmark's library (``tools/analysis_tools/benchmark.py``
is its front end): the variants and why one cannot run
(:mod:`.variants`), the models, inputs and quoted figures
(:mod:`.models`), one runner per variant (:mod:`.runners`), timing and
peak memory (:mod:`.timing`), the machine (:mod:`.machine`), FLOPs
(:mod:`.complexity`) and the report (:mod:`.report`). The official
models with the same weights are in :mod:`sfseg.official_checks.official_twin`.
Not imported by ``import sfseg``.
"""

from .complexity import count_flops
from .machine import (
    allocator,
    cudnn_version,
    gpu_description,
    machine_description,
    nvidia_driver_version,
)
from .models import (
    PEERS,
    QUOTED_FPS,
    benchmark_inputs,
    build_segmentor,
    mmseg_config,
    quoted_miou,
)
from .report import header, latency_label, plot_speed_accuracy, to_markdown
from .runners import io_bound_runner, output_agreement, variant_runner
from .timing import (
    configure_cuda,
    matmul_peak,
    run_with_peak_memory,
    synchronize,
    time_call,
)
from .variants import (
    VARIANTS,
    BenchmarkVariant,
    VariantSkipped,
    bf16_skip_reason,
    skipped_variants,
    variant_skip_reason,
)

__all__ = [
    'BenchmarkVariant',
    'VARIANTS',
    'header',
    'skipped_variants',
    'to_markdown',
    'PEERS',
    'QUOTED_FPS',
    'VariantSkipped',
    'allocator',
    'benchmark_inputs',
    'bf16_skip_reason',
    'build_segmentor',
    'configure_cuda',
    'count_flops',
    'cudnn_version',
    'gpu_description',
    'io_bound_runner',
    'latency_label',
    'machine_description',
    'matmul_peak',
    'mmseg_config',
    'nvidia_driver_version',
    'output_agreement',
    'plot_speed_accuracy',
    'quoted_miou',
    'run_with_peak_memory',
    'synchronize',
    'time_call',
    'variant_runner',
    'variant_skip_reason',
]

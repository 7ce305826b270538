"""The ``cuda`` marker of the tests that need a CUDA GPU (this module is
not named ``cuda``: that would hide the ``cuda-python`` package).

``pytestmark = CUDA`` in a test module marks every test in it ``cuda``
(registered in pyproject.toml; ``pytest -m cuda`` selects them, as
.dev_scripts/gpu_check.sh does) and skips them, saying why, where
torch sees no GPU, so ``make test`` collects and skips them on a CPU.
"""

import pytest
import torch


def no_gpu_reason():
    """Why there is no GPU to test on (``None``: there is one)."""
    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return (
            f'needs a CUDA GPU: torch {torch.__version__} is a CPU-only build'
        )
    return (
        f'needs a CUDA GPU: torch {torch.__version__} (CUDA '
        f'{torch.version.cuda}) sees none'
    )


NO_GPU = no_gpu_reason()
CUDA = [
    pytest.mark.cuda,
    pytest.mark.skipif(NO_GPU is not None, reason=NO_GPU or 'a GPU'),
]

"""The network as an AOTInductor package (``.pt2``).

:func:`export_aoti` exports the prepared network (BN folded, deep
supervision removed: :func:`sfseg.acceleration.accelerate`) with
``torch.export`` and compiles it ahead of time with Inductor (with
``freezing``, as compiled inference on a CPU) into a ``.pt2`` package;
:class:`AOTIRunner` runs one with
``torch._inductor.aoti_load_package``, which needs PyTorch only (no
sfseg, mmseg or model code). Input: N x 3 x H x W normalised images;
output: the logits at the head's stride, as the ONNX graphs.

Height and width stay dynamic. The PPM's adaptive pooling is first made
shape-generic (:mod:`.export_pooling`): Inductor otherwise compiles the
adaptive pooling of a dynamic input at the traced size and, with it, the
whole graph, so the package would return the traced size's logits for
any input. The bins of the shape-generic pooling give guards that
PyTorch cannot prove for a declared range of sizes, so height and width
are exported as ``Dim.AUTO``: export finds the range itself (33 pixels
and up for the SFNet models; the package checks its input).

A package holds machine code for the CPU it was compiled on (its
metadata names the instruction set, e.g. ``AVX512``): compile it on the
machine class that runs it.
"""

import copy

import torch

from sfseg.acceleration import accelerate
from sfseg.utils import cpu_info

from .export_pooling import use_shape_generic_pooling
from .onnx_export import ExportWrapper

# traced size: every level's map larger than the PPM's largest bin count
TRACE_SHAPE = (256, 512)


def export_program(model, shape=TRACE_SHAPE, dynamic=True):
    """``torch.export`` of a prepared copy of ``model`` (left unchanged)
    traced at ``shape`` = (H, W), with dynamic height and width unless
    ``dynamic=False`` (one size, which Inductor can specialise for)."""
    network = accelerate(copy.deepcopy(model).cpu().float())
    use_shape_generic_pooling(network)
    wrapper = ExportWrapper(network).eval()
    dims = None
    if dynamic:
        auto = torch.export.Dim.AUTO
        dims = {'inputs': {2: auto, 3: auto}}
    with torch.no_grad():
        return torch.export.export(
            wrapper, (torch.randn(1, 3, *shape),), dynamic_shapes=dims
        )


def export_aoti(model, output, shape=TRACE_SHAPE, dynamic=True):
    """Write ``model``'s network to the package ``output`` (``.pt2``; see
    :func:`export_program`); return its path."""
    program = export_program(model, shape, dynamic)
    cpu_info.key_inductor_cache()
    # freezing: the weights become constants and oneDNN prepacks its
    # convolutions (SFNet-Lite-R18 at 1024x2048: 1.75 s instead of 1.84)
    return torch._inductor.aoti_compile_and_package(
        program, package_path=output, inductor_configs={'freezing': True}
    )


class AOTIRunner:
    """Run a ``.pt2`` package on float32 numpy arrays (N x 3 x H x W ->
    N x K x H/s x W/s), with PyTorch's intra-op threads.

    Args:
        package (str): the ``.pt2`` file.
        threads (int, optional): ignored; the package runs on the threads
            of the process (``torch.set_num_threads``).
    """

    def __init__(self, package, threads=None):
        self.package = package
        self.model = torch._inductor.aoti_load_package(package)

    @property
    def metadata(self):
        """What the package was compiled for (instruction set, device)."""
        return self.model.get_metadata()

    def __call__(self, inputs):
        with torch.no_grad():
            logits = self.model(torch.from_numpy(inputs))
        return logits.numpy()

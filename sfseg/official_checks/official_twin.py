"""The official SFNet model with the same weights as an sfseg model.

``benchmark.py --official-root`` times (and compares the outputs of) the
official model of a family next to sfseg's: both carry one set of random
weights, drawn on the official side (:func:`randomise`: non-trivial BN
statistics and biases) and mapped into sfseg's key names by
:func:`sfseg.models.official.convert.convert_state_dict`.
"""

from sfseg.models.official import FAMILIES
from sfseg.models.official.convert import convert_state_dict

from .official_sfsegnets import build_official, randomise


def official_twin(root, family, model, seed=0):
    """The official ``family`` model (eval mode, on the CPU) with random
    weights, which are loaded into ``model`` (strict; the sfseg segmentor
    of ``FAMILIES[family]``'s config).

    Args:
        root (str): a local lxtGH/SFSegNets clone.
        family (str): a key of :data:`FAMILIES`, e.g. ``'sfnet_lite_r18'``.
        model: the sfseg segmentor that receives the weights.
        seed (int): seed of :func:`randomise`.

    Run the returned model with
    :func:`~sfseg.official_checks.official_sfsegnets.official_logits`
    (1 x 3 x H x W input -> 1 x K x H x W logits).
    """
    if family not in FAMILIES:
        raise KeyError(f'unknown family {family!r}; known: {list(FAMILIES)}')
    official = randomise(build_official(root, family), seed).eval()
    state, _ = convert_state_dict(official.state_dict(), family)
    model.load_state_dict(state, strict=True)
    return official

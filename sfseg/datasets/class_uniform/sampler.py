"""The sampler that tells the class-uniform dataset which pass an index
belongs to."""

import torch
from mmengine.dataset import InfiniteSampler
from mmseg.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class SFInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same image order, same sharding over
    ranks) that also tells a :class:`ClassUniformDataset` which pass over
    the data an index belongs to: it yields ``pass * len(dataset) +
    index``, so that the dataset's class-centred draws change from pass to
    pass while staying a function of the sampler's position."""

    def __init__(self, dataset, shuffle=True, seed=None):
        if not hasattr(dataset, 'sample_of'):
            raise TypeError(
                f'SFInfiniteSampler feeds ClassUniformDataset, got '
                f'{type(dataset).__name__}; use InfiniteSampler'
            )
        super().__init__(dataset, shuffle, seed)

    def _infinite_indices(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        start = 0
        while True:
            if self.shuffle:
                order = torch.randperm(self.size, generator=generator)
            else:
                order = torch.arange(self.size)
            yield from (order + start).tolist()
            start += self.size

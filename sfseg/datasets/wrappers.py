"""Walking dataset wrappers (mmengine's ``ConcatDataset`` /
``RepeatDataset``, ``ClassUniformDataset``, ``SFSampleGuard``)."""


def wrapped_datasets(dataset):
    """``dataset`` and every dataset it wraps (``dataset``,
    ``boost_dataset`` and ``datasets`` attributes), each once."""
    seen, todo = [], [dataset]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.append(getattr(item, 'dataset', None))
        todo.append(getattr(item, 'boost_dataset', None))
        todo += list(getattr(item, 'datasets', None) or [])
    return seen

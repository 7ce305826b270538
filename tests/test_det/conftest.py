import pytest

pytest.importorskip('mmdet')


@pytest.fixture(scope='session')
def _det_registered():
    from mmdet.utils import register_all_modules

    import sfseg.det  # noqa: F401

    register_all_modules(init_default_scope=False)


@pytest.fixture(autouse=True)
def mmdet_scope(_det_registered):
    """Build with mmdet's registries; the session default scope is mmseg."""
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        yield

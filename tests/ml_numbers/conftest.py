import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    """These tests touch neither Django nor its Redis cache: skip the suite-wide cache reset."""
    yield

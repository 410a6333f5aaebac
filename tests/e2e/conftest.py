import pytest

from tests.e2e.helpers import start_s3_server


@pytest.fixture
def s3_endpoint():
    """An S3-compatible server (moto) with the test bucket; its endpoint URL."""
    server, endpoint = start_s3_server()
    yield endpoint
    server.terminate()
    server.wait(10)

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from admind import Daemon  # noqa: E402


@pytest.fixture
def daemon():
    """A fresh database (provctl init) and a daemon serving it; removed after the test."""
    d = Daemon()
    d.start()
    yield d
    d.remove()

"""What test_devices.py and test_scopes.py share: a twin database changed through provctl (parity), and provctl's
--json output parsed."""
import json

import pytest

from admind import Daemon


@pytest.fixture
def twin():
    """A second fresh database, changed through provctl, to compare with the daemon's."""
    d = Daemon()
    yield d
    d.remove()


def provctl_json(daemon, *args):
    return json.loads(daemon.provctl(*args, json_output=True).stdout)

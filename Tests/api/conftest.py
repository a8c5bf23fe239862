import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from admind import ROOT, Daemon  # noqa: E402
from apache import AdminApache  # noqa: E402


@pytest.fixture
def daemon():
    """A fresh database (provctl init) and a daemon serving it; removed after the test."""
    d = Daemon()
    d.start()
    yield d
    d.remove()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def apache():
    """The admin API through the real Apache: `apache/serve --admin` (the demo database, the admin CA, the admin
    virtual host of apache/provisioner-admin.conf, provisioner-admind on its socket). Tests/api/run starts one and
    names it with PROVISIONER_API_STATE / PROVISIONER_API_ADMIN_PORT / PROVISIONER_API_PORT; run alone, pytest
    starts its own in a temporary state folder and stops it by its pid files at the end."""
    state = os.environ.get("PROVISIONER_API_STATE")
    if state:
        yield AdminApache(state, int(os.environ["PROVISIONER_API_PORT"]), int(os.environ["PROVISIONER_API_ADMIN_PORT"]))
        return
    if not os.access("/usr/sbin/apache2", os.X_OK):
        pytest.skip("no /usr/sbin/apache2 (Tests/api/run installs it)")
    state = tempfile.mkdtemp(prefix="provisioner-api-")
    port, admin_port = _free_port(), _free_port()
    serve = os.path.join(ROOT, "apache", "serve")
    result = subprocess.run([serve, "--admin", "--no-build", "--state", state, "--port", str(port),
                             "--admin-port", str(admin_port)], capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(state, ignore_errors=True)
        raise RuntimeError("apache/serve --admin failed:\n" + result.stdout + result.stderr)
    try:
        yield AdminApache(state, port, admin_port)
    finally:
        subprocess.run([serve, "--stop", "--state", state], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)

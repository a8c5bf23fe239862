"""The admin API as an outsider meets it: HTTPS to the admin virtual host of apache/provisioner-admin.conf
(started by `apache/serve --admin`), a client certificate from the demo PKI, no header of Apache's set by hand."""
import json
import os
import subprocess

import requests

from admind import PROVCTL


class AdminApache:
    def __init__(self, state, port, admin_port):
        self.state = state
        self.port = port
        self.admin_port = admin_port
        self.pki = os.path.join(state, "pki")
        self.db = os.path.join(state, "provisioner.db")
        self.base = f"https://localhost:{admin_port}"

    def cert(self, name):
        """(certificate, key) of NAME in the demo PKI (admin, viewer, demo-8841, ...)."""
        return (os.path.join(self.pki, name + ".pem"), os.path.join(self.pki, name + ".key"))

    def request(self, method, path, cert="admin", port=None, body=None, headers=None, **kw):
        """One request on a fresh connection; cert=None sends no certificate, a tuple is a (pem, key) pair."""
        if isinstance(cert, str):
            cert = self.cert(cert)
        sent = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        url = f"https://localhost:{port or self.admin_port}{path}"
        with requests.Session() as session:
            return session.request(method, url, cert=cert, verify=os.path.join(self.pki, "ca.pem"), data=body,
                                   headers=sent, timeout=30, **kw)

    def provctl(self, *args):
        result = subprocess.run([PROVCTL, "--db", self.db, *args], capture_output=True, text=True,
                                env={**os.environ, "USER": "tester"})
        assert result.returncode == 0, f"provctl {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout

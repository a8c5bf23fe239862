"""The admin daemon as the API tests meet it: a fresh database made with provctl, the daemon on a Unix socket of
the test's own folder, and a client that speaks HTTP/1.1 over that socket with the headers Apache would set
(X-Provisioner-User, X-Provisioner-Role). Tests through the real Apache use apache_client() in conftest.py.

Binaries: $PROVISIONER_ADMIND / $PROVISIONER_PROVCTL, else .build/debug (built by `swift build`)."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def binary(name, variable):
    path = os.environ.get(variable)
    if path:
        return path
    for build in ("debug", "release"):
        candidate = os.path.join(ROOT, ".build", build, name)
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"no {name}: set {variable} or run swift build --product {name}")


ADMIND = binary("provisioner-admind", "PROVISIONER_ADMIND")
PROVCTL = binary("provctl", "PROVISIONER_PROVCTL")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """Requests as user `user` with role `role` (None leaves the header out)."""

    def __init__(self, socket_path, user="alice", role="admin"):
        self.socket_path = socket_path
        self.user = user
        self.role = role

    def request(self, method, path, body=None, headers=None, content_type="application/json"):
        connection = UnixConnection(self.socket_path)
        sent = dict(headers or {})
        if self.user is not None:
            sent["X-Provisioner-User"] = self.user
        if self.role is not None:
            sent["X-Provisioner-Role"] = self.role
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            sent.setdefault("Content-Type", content_type)
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        connection.close()
        return answer

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Daemon:
    """A database and a daemon in a folder of their own; stop() kills the daemon by its pid."""

    def __init__(self, folder=None, db=None):
        self.folder = folder or tempfile.mkdtemp(prefix="admind-")
        self.db = db or os.path.join(self.folder, "provisioner.db")
        self.socket = os.path.join(self.folder, "admin.sock")
        self.process = None
        if db is None:
            self.provctl("init")

    def provctl(self, *args, check=True, json_output=False):
        command = [PROVCTL, "--db", self.db, *args]
        if json_output:
            command.append("--json")
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "USER": "tester"})
        if check and result.returncode != 0:
            raise AssertionError(f"provctl {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        log = open(os.path.join(self.folder, "admind.log"), "ab")
        self.process = subprocess.Popen([ADMIND, "--socket", self.socket, "--db", self.db, "--state", self.folder],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"provisioner-admind exited {self.process.returncode}: " + self.log())
            if os.path.exists(self.socket):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.socket)
                    s.close()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("provisioner-admind did not listen within 30 s: " + self.log())

    def log(self):
        try:
            with open(os.path.join(self.folder, "admind.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def client(self, user="alice", role="admin"):
        return Client(self.socket, user, role)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove(self):
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def profile_cgi():
    """The built profile-cgi (release first), to play a phone's fetch as Apache would run it."""
    for build in ("release", "debug"):
        path = os.path.join(ROOT, ".build", build, "profile-cgi")
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError("no profile-cgi built (swift build --product profile-cgi)")

#!/usr/bin/env python3
"""The hostile-caller suite (issue 19): every hole a tester found, tried again through a real Apache started by
apache/serve (profile-cgi as a CGI, or as a FastCGI responder), with the phone played by sipp (SIP NOTIFY) and by a
small HTTP listener that records what it receives (the phone's /CGI/Execute). Each case prints `ok` or `FAIL` and
what it saw; the exit status is 1 when any case failed.

Callers come from other loopback addresses (127.0.0.2 the stranger, 127.0.0.3 a NAT shared by phones and an
attacker): Apache listens on 127.0.0.1 and sees each as REMOTE_ADDR, so "the address a stranger chose" is real.

Run by Tests/hostile/run (both modes); by hand:
    apache/serve --state /tmp/h --port 18143 --no-build
    Tests/hostile/hostile.py --state /tmp/h --port 18143 --mode cgi
"""
import argparse
import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

STRANGER = "127.0.0.2"
NAT = "127.0.0.3"


class Suite:
    def __init__(self, args):
        self.args = args
        self.state = args.state
        self.port = args.port
        self.repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.provctl_path = args.provctl or os.path.join(self.repo, ".build", "release", "provctl")
        self.db = os.path.join(self.state, "provisioner.db")
        self.pki = os.path.join(self.state, "pki")
        self.work = os.path.join(self.state, "hostile")
        os.makedirs(self.work, exist_ok=True)
        self.failures = 0
        self.macs = 0

    # --- helpers ---------------------------------------------------------------------------------------------
    def provctl(self, *args, check=True, input=None):
        run = subprocess.run([self.provctl_path, "--db", self.db] + list(args), capture_output=True, text=True,
                             timeout=120, input=input)
        if check and run.returncode != 0:
            raise RuntimeError(f"provctl {' '.join(args)}: {run.returncode}: {run.stderr.strip()}")
        return run

    def curl(self, path, cert=None, source=None, user=None, headers=(), data=None, chunked=False, method=None,
             server=None):
        """(status, headers text, body bytes) of one HTTPS request to the private Apache (or to `server`, a
        (port, pki folder) of another one)."""
        port, pki = server or (self.port, self.pki)
        command = ["curl", "-s", "-D", "-", "-o", os.path.join(self.work, "body"), "--max-time", "20",
                   "--cacert", os.path.join(pki, "ca.pem"), f"https://127.0.0.1:{port}{path}"]
        if cert:
            command += ["--cert", cert + ".pem", "--key", cert + ".key"]
        if source:
            command += ["--interface", source]
        if user:
            command += ["--basic", "-u", user]
        for header in headers:
            command += ["-H", header]
        if data is not None:
            body = os.path.join(self.work, "post")
            with open(body, "wb") as f:
                f.write(data)
            command += ["--data-binary", "@" + body]
            if chunked:
                command += ["-H", "Transfer-Encoding: chunked"]
        if method:
            command += ["-X", method]
        run = subprocess.run(command, capture_output=True, timeout=30)
        head = run.stdout.decode("latin-1")
        status = 0
        for line in head.splitlines():
            if line.startswith("HTTP/"):
                status = int(line.split()[1])
        with open(os.path.join(self.work, "body"), "rb") as f:
            body = f.read()
        return status, head, body

    def phone(self, name, model="CP-8841-3PCC"):
        """A new phone: a client certificate from the server's CA and its device. Returns (mac, serial, cert)."""
        self.macs += 1
        mac = "000e08aa%02x%02x" % (os.getpid() % 256, self.macs)
        serial = "FCH%08X" % (self.macs * 7919 + os.getpid())
        subprocess.run([os.path.join(self.repo, "apache", "pki"), "phone", self.work, name, "--ca", self.pki,
                        "--form", "ouls", "--mac", mac, "--serial", serial, "--model", model],
                       check=True, capture_output=True)
        self.provctl("device", "add", mac, "--serial", serial, "--model", model)
        return mac, serial, os.path.join(self.work, name)

    def journaled(self, mac, rows=1):
        """Waits (up to 10 s) until the journal holds `rows` fetches of `mac`: profile-cgi writes its row after
        the answer is finished (the phone first), so curl can return before the row is there."""
        deadline = time.time() + 10
        while time.time() < deadline:
            run = self.provctl("fetches", mac, "--json", check=False)
            try:
                if len(json.loads(run.stdout or "[]")) >= rows:
                    return
            except ValueError:
                pass
            time.sleep(0.2)

    def check(self, name, failures):
        if failures:
            self.failures += 1
            print(f"FAIL {self.args.mode}: {name}")
            for failure in failures:
                print(f"     {failure}")
        else:
            print(f"ok   {self.args.mode}: {name}")
        sys.stdout.flush()

    @staticmethod
    def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            return s.getsockname()[1]

    def sipp(self, host, port, user, password, name):
        """sipp as a phone at host:port: 401 digest challenge to a NOTIFY, then 200. Returns (process, log)."""
        log = os.path.join(self.work, f"sipp-{name}.log")
        scenario = os.path.join(self.work, f"sipp-{name}.xml")
        answer = lambda status, extra="": f"""  <send><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
{extra}Content-Length: 0

]]></send>
"""
        with open(scenario, "w") as f:
            f.write(f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="a phone, or a stranger playing one">
  <recv request="NOTIFY"/>
{answer("401 Unauthorized", 'WWW-Authenticate: Digest realm="phone.test", nonce="chosen-by-the-listener", algorithm=MD5' + chr(10))}
  <recv request="NOTIFY"/>
{answer("200 OK")}
</scenario>
""")
        if os.path.exists(log):
            os.unlink(log)
        process = subprocess.Popen(["sipp", "-sf", scenario, "-i", host, "-p", str(port), "-m", "1", "-timeout", "20s",
                                    "-trace_msg", "-message_file", log, "-nostdin"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        return process, log

    @staticmethod
    def stop(process):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    @staticmethod
    def read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- 1. credentials go only where a proof points ---------------------------------------------------------
    def push_address(self):
        mac, _, cert = self.phone("push")
        sip_port = self.free_port(socket.SOCK_DGRAM)
        self.provctl("device", "edit", mac, "--bootstrap", "profile")
        self.provctl("set", f"device:{mac}", f"SIP_Port_1_={sip_port}", "User_ID_1_=line1", "Password_1_=line-secret-91")
        failures = []
        stranger, stranger_log = self.sipp(STRANGER, sip_port, "line1", "line-secret-91", "stranger")
        try:
            status, _, _ = self.curl(f"/prov/{mac}.xml", source=STRANGER)
            if status != 200:
                failures.append(f"the bootstrap fetch itself: {status}")
            self.journaled(mac)
            resync = self.provctl("resync", mac, "--json", "--t1", "100", check=False)
            entries = json.loads(resync.stdout or "[]")
            entry = entries[0] if entries else {}
            if entry.get("outcome") != "refused" or entry.get("address_source") is not None:
                failures.append(f"resync after a stranger's fetch: {resync.stdout.strip()} {resync.stderr.strip()}")
            time.sleep(0.5)
            if "NOTIFY" in self.read(stranger_log):
                failures.append("the stranger's address received a NOTIFY" +
                                (" with the line's digest answer" if "Authorization:" in self.read(stranger_log) else ""))
            fetches = json.loads(self.provctl("fetches", mac, "--json").stdout)
            if not fetches or fetches[-1].get("trusted") is not False:
                failures.append(f"the stranger's row is not marked untrusted: {[f.get('trusted') for f in fetches]}")
            shown = json.loads(self.provctl("device", "show", mac, "--json").stdout)
            if shown.get("seen") not in (None,):
                failures.append(f"a stranger's fetch moved last contact: {shown.get('seen')}")
            # The real phone fetches with its certificate; the push goes to it, and says why.
            real, real_log = self.sipp("127.0.0.1", sip_port, "line1", "line-secret-91", "real")
            status, _, _ = self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
            if status != 200:
                failures.append(f"the phone's own fetch: {status}")
            # Its row is written after the answer (the phone first): wait for it, as after the stranger's fetch.
            self.journaled(mac, rows=2)
            resync = self.provctl("resync", mac, "--json", "--t1", "100", check=False)
            entries = json.loads(resync.stdout or "[]")
            entry = entries[0] if entries else {}
            if entry.get("address_source") != "certificate" or not entry.get("ok"):
                failures.append(f"resync to the proven address: {resync.stdout.strip()}")
            self.stop(real)
            if "NOTIFY" not in self.read(real_log):
                failures.append("the phone at its proven address got no NOTIFY")
            if "NOTIFY" in self.read(stranger_log):
                failures.append("the stranger received a NOTIFY after the phone's proven fetch")
        finally:
            self.stop(stranger)
        self.check("a bootstrap caller's address never receives a push; resync says where the address came from", failures)

    def cleartext(self):
        mac, _, cert = self.phone("http")
        self.provctl("set", f"device:{mac}", "Admin_Password=admin-secret-77",
                     "Profile_Rule=https://prov.example.com/cgi-bin/profile/$MA.xml")
        received = []

        class Listener(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                received.append(self.headers.get("Authorization") or "")
                if self.headers.get("Authorization"):
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="phone"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args):
                pass

        port = self.free_port(host=STRANGER)
        server = http.server.HTTPServer((STRANGER, port), Listener)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        failures = []
        try:
            resync = self.provctl("resync", mac, "--via", "http", "--address", f"{STRANGER}:{port}", "--json", check=False)
            leaked = [base64.b64decode(h.split()[1]).decode("latin-1") for h in received if h.startswith("Basic ")]
            if any("admin-secret-77" in text for text in leaked):
                failures.append(f"Admin_Password went over plain HTTP as Basic: {leaked}")
            entries = json.loads(resync.stdout or "[]")
            if not entries or entries[0].get("outcome") != "refused":
                failures.append(f"not refused: {resync.stdout.strip()} {resync.stderr.strip()}")
            if entries and entries[0].get("address_source") != "admin":
                failures.append(f"address_source: {entries[0].get('address_source')}")
            received.clear()
            allowed = self.provctl("resync", mac, "--via", "http", "--address", f"{STRANGER}:{port}",
                                   "--cleartext-credentials", check=False)
            if "warning" not in allowed.stderr or not received:
                failures.append(f"--cleartext-credentials: sent {len(received)}, stderr {allowed.stderr.strip()!r}")
        finally:
            server.shutdown()
        self.check("no credential in cleartext: /CGI/Execute over HTTP needs --cleartext-credentials and warns", failures)

    # --- 1. only proven identities write the record ----------------------------------------------------------
    def pending(self):
        mac, _, _ = self.phone("pending")
        self.provctl("device", "edit", mac, "--bootstrap", "profile")
        failures = []
        before = json.loads(self.provctl("pending", "--json", check=False).stdout)
        if mac not in [p["mac"] for p in before]:
            failures.append("a new device is not pending")
        for _ in range(3):
            self.curl(f"/prov/{mac}.xml", source=STRANGER)
        self.journaled(mac, 3)
        after = {p["mac"]: p["states"] for p in json.loads(self.provctl("pending", "--json", check=False).stdout)}
        if after.get(mac) != ["never seen"]:
            failures.append(f"a stranger's fetches changed its pending state: {after.get(mac)}")
        listing = self.provctl("fetches", mac).stdout
        if "CLAIM" not in listing:
            failures.append("fetches does not mark the stranger's rows")
        self.check("a bootstrap caller moves no last contact, address, firmware or pending state", failures)

    # --- 2. one definition of a secret -----------------------------------------------------------------------
    def secrets(self):
        mac, _, cert = self.phone("secrets")
        self.provctl("device", "edit", mac, "--bootstrap", "profile")
        values = {"PSK_1": "psk-s1", "Wi-Fi_Password_1_": "wifi-s2", "wepKey0_1_": "wep-s3",
                  "SRTP_Private_Key_1_": "srtp-s4", "Activation_Code": "act-s5", "PIN_Code": "pin-s6",
                  "License_Keys": "lic-s7", "GPP_SA": "gpp-s8", "Password_1_": "sip-s9",
                  "Profile_Rule_B": "https://prov:url-s10@p.example.com/$MA-b.xml"}
        self.provctl("set", f"device:{mac}", "--force", *[f"{k}={v}" for k, v in values.items()])
        secret_texts = [v.split(":")[-1].split("@")[0] if "@" in v else v for v in values.values()]
        failures = []
        status, _, body = self.curl(f"/prov/{mac}.xml", source=STRANGER)
        text = body.decode("utf-8", "replace")
        if status != 200:
            failures.append(f"bootstrap fetch: {status}")
        failures += [f"the bootstrap profile carries {s}" for s in secret_texts if s in text]
        if "https://p.example.com/$MA-b.xml" not in text:
            failures.append("the rule lost more than its user info")
        status, _, body = self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
        full = body.decode("utf-8", "replace")
        failures += [f"the phone's own profile lacks {s}" for s in secret_texts if s not in full]
        for command in (["settings", f"device:{mac}"], ["settings", f"device:{mac}", "--json"], ["history"],
                        ["history", "--json"], ["export"], ["device", "show", mac]):
            out = self.provctl(*command).stdout
            failures += [f"provctl {' '.join(command)} shows {s}" for s in secret_texts if s in out]
        self.check("no secret (PSK, WEP, SRTP key, activation, PIN, licence, URL user info) below its trust level", failures)

    def nonces(self):
        """A Digest answer computed for one node's nonce is refused by another node of the same database (401 and
        a fresh challenge) and accepted by the node that issued it. Node B is a second apache/serve on this
        server's database (--db) with PROVISIONER_NODE=hostile-node-b and a journal of its own, as a replica runs."""
        import hashlib
        caller = "127.0.0.6"  # an address of its own: the brakes case leaves failures counted against NAT's
        mac, _, _ = self.phone("nonce")
        user, password = f"nonce-{os.getpid()}", f"pw-nonce-{os.getpid()}"
        self.provctl("device", "edit", mac, "--account", user, "--password-stdin", input=password + "\n")
        other = os.path.join(self.work, "node-b")
        os.makedirs(other, exist_ok=True)
        port = self.free_port()
        flags = ["--state", other, "--port", str(port), "--no-build", "--db", self.db, "--pki", self.pki,
                 "--env", "PROVISIONER_NODE=hostile-node-b", "--env", f"PROVISIONER_JOURNAL={other}/journal.db"]
        if self.args.mode == "fastcgi":
            flags.append("--fastcgi")
        serve = os.path.join(self.repo, "apache", "serve")
        started = subprocess.run([serve] + flags, capture_output=True, text=True, timeout=180)
        failures = []
        try:
            if started.returncode != 0:
                raise RuntimeError(f"apache/serve for node B: {started.stderr.strip()[-300:]}")
            node_b = (port, self.pki)
            uri = f"/cgi-bin/profile/{mac}.xml"

            def challenge(server=None):
                status, head, _ = self.curl(uri, source=caller, server=server)
                lines = [line for line in head.splitlines() if line.lower().startswith("www-authenticate: digest")]
                nonce = lines[0].split('nonce="', 1)[1].split('"', 1)[0] if lines else None
                return status, nonce

            def answer(nonce):
                md5 = lambda text: hashlib.md5(text.encode()).hexdigest()
                ha1, ha2 = md5(f"{user}:provisioner:{password}"), md5(f"GET:{uri}")
                response = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
                return (f'Authorization: Digest username="{user}", realm="provisioner", nonce="{nonce}", uri="{uri}", '
                        f'qop=auth, nc=00000001, cnonce="c0ffee", response="{response}", algorithm=MD5')

            status, nonce_a = challenge()
            if status != 401 or not nonce_a:
                raise RuntimeError(f"node A's challenge: {status}, nonce {nonce_a!r}")
            header = answer(nonce_a)
            status, head, _ = self.curl(uri, source=caller, headers=[header], server=node_b)
            fresh = [line for line in head.splitlines() if line.lower().startswith("www-authenticate: digest")]
            if status != 401:
                failures.append(f"node B answered node A's nonce with {status}")
            elif not fresh or nonce_a in fresh[0]:
                failures.append(f"node B's refusal carries no fresh challenge: {fresh}")
            status, _, body = self.curl(uri, source=caller, headers=[header])
            if status != 200 or b"<flat-profile" not in body:
                failures.append(f"node A refused the answer to its own nonce: {status}")
            # And the other way: B's own nonce works on B (the second server really checks Digest).
            status, nonce_b = challenge(node_b)
            if status != 401 or not nonce_b:
                failures.append(f"node B's challenge: {status}")
            else:
                status, _, _ = self.curl(uri, source=caller, headers=[answer(nonce_b)], server=node_b)
                if status != 200:
                    failures.append(f"node B refused the answer to its own nonce: {status}")
        finally:
            subprocess.run([serve, "--stop", "--state", other], capture_output=True, timeout=60)
        self.check("a Digest nonce is bound to its node: another node of the same database refuses it", failures)

    # --- 3. brakes that stop attackers, not phones -----------------------------------------------------------
    def brakes(self):
        accounts = {}
        for name in ("phone-a", "holder-b", "victim-c", "victim-d"):
            mac, _, _ = self.phone(name)
            password = f"pw-{name}-{os.getpid()}"
            self.provctl("device", "edit", mac, "--account", f"{name}-{os.getpid()}", "--password-stdin",
                         input=password + "\n")
            accounts[name] = (mac, f"{name}-{os.getpid()}", password)

        def login(name, password=None, source=NAT):
            mac, user, right = accounts[name]
            return self.curl(f"/cgi-bin/profile/{mac}.xml", source=source, user=f"{user}:{password or right}")[0]

        failures = []
        # Behind one NAT: a phone that logged in before, and someone guessing another account.
        if login("phone-a") != 200 or login("holder-b") != 200:
            failures.append("the accounts do not log in")
        for attempt in range(5):
            login("victim-c", password=f"guess-{attempt}")
        nat = login("phone-a")
        if nat != 200:
            failures.append(f"a phone behind the NAT is locked out by someone else's failures: {nat}")
        if login("victim-c", password="guess-x") != 429:
            failures.append("the guesser is not slowed down")
        # The release handle: the holder of one account logs in between guesses at another.
        other = "127.0.0.4"
        login("holder-b", source=other)
        for attempt in range(4):
            login("victim-d", password=f"guess-{attempt}", source=other)
        login("holder-b", source=other)
        answers = [login("victim-d", password=f"guess-{attempt}", source=other) for attempt in ("y", "z")]
        if answers[-1] != 429:
            failures.append(f"one success of another account released the brake: guesses answered {answers}")
        self.check("failed logins per account and source; a success clears only its own; no NAT lockout", failures)

    # --- 4. bounded ------------------------------------------------------------------------------------------
    def reports(self):
        mac, _, cert = self.phone("report")
        failures = []
        filler = "".join(f"<GPP_A>{'x' * 90}{i:06d}</GPP_A>\n" for i in range(2000))
        report = ("<flat-profile>\n" + filler + "</flat-profile>\n").encode()
        status, _, body = self.curl(f"/cgi-bin/profile/report/{mac}.xml", cert=cert, data=report)
        if status != 200:
            failures.append(f"a {len(report) // 1024} KiB report: {status} {body[:80]!r}")
        status, _, body = self.curl(f"/cgi-bin/profile/report/{mac}.xml", cert=cert, data=report, chunked=True)
        if status != 200:
            failures.append(f"the same report chunked: {status} {body[:80]!r}")
        status, _, _ = self.curl(f"/cgi-bin/profile/report/{mac}.xml", data=b"<x/>" * 100000, source=STRANGER)
        if status in (200, 500):
            failures.append(f"a stranger's body: {status}")
        self.check("reports up to the documented size in this mode, chunked too; a stranger's body is not taken", failures)

    def responders(self):
        """{pid: (VmRSS, VmHWM) in KiB} of this server's FastCGI responders: the processes under its Apache (the
        pid in httpd.pid) that are not apache2 (mod_fcgid starts cgi-bin/profile under its process manager)."""
        with open(os.path.join(self.state, "httpd.pid")) as f:
            root = int(f.read().strip())
        parents, names = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            parents[int(entry)] = int(fields["PPid"])
            names[int(entry)] = (fields["Name"].strip(), fields.get("VmRSS", "0 kB"), fields.get("VmHWM", "0 kB"))

        def under(pid):
            while pid > 1:
                pid = parents.get(pid, 0)
                if pid == root:
                    return True
            return False

        return {pid: (int(rss.split()[0]), int(hwm.split()[0])) for pid, (name, rss, hwm) in names.items()
                if name != "apache2" and under(pid)}

    def queue(self):
        """The hole as found: 40 reports while the journal was locked took one FastCGI responder from 5 MB to
        334 MB. The queue is bounded in bytes (FastCGIResponder.pendingByteLimit, 8 MiB): a responder's high-water
        mark stays well under what 40 report bodies alone take, and what it could not queue is counted as lost."""
        if self.args.mode != "fastcgi":
            print(f"--   {self.args.mode}: queue (a CGI process answers one request and exits: no queue)")
            return
        import sqlite3
        mac, _, cert = self.phone("queue")
        path = f"/cgi-bin/profile/report/{mac}.xml"
        filler = "".join(f"<GPP_A>{'x' * 90}{i:06d}</GPP_A>\n" for i in range(9300))
        report = ("<flat-profile>\n" + filler + "</flat-profile>\n").encode()  # just under the 1 MiB a report may be
        failures = []
        # Warm: the responder exists and has taken one such report, written at once (its peak is the baseline).
        for _ in range(2):
            self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
            self.curl(path, cert=cert, data=report)
        before = self.responders()
        journal = os.path.join(self.state, "journal.db")

        def counts():
            with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=10) as db:
                lost = db.execute("SELECT coalesce(sum(count), 0) FROM lost WHERE what = 'fetch'").fetchone()[0]
                rows = db.execute("SELECT count(*) FROM fetches WHERE mac = ? AND method = 'POST'", (mac,)).fetchone()[0]
            return lost, rows

        time.sleep(0.5)  # the warm reports are written (a batch goes in when no phone comes within 2 ms)
        lost_before, rows_before = counts()
        # A writer holds the journal (a sqlite3 process, as an admin's long transaction or a stuck backup would).
        holder = subprocess.Popen(["sqlite3", journal], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        holder.stdin.write(".timeout 5000\nBEGIN EXCLUSIVE;\nSELECT 'held';\n")
        holder.stdin.flush()
        held = holder.stdout.readline().strip()
        statuses = []
        try:
            if held != "held":
                failures.append(f"could not lock the journal: {held!r} {holder.stderr.read() if holder.poll() is not None else ''}")
            for _ in range(40):
                statuses.append(self.curl(path, cert=cert, data=report)[0])
            during = self.responders()
        finally:
            holder.stdin.write("ROLLBACK;\n.quit\n")
            holder.stdin.flush()
            holder.wait(timeout=10)
        if any(status != 200 for status in statuses):
            failures.append(f"a phone's report was answered {sorted(set(statuses))} while the journal was locked")
        grown = {pid: hwm - before.get(pid, (0, 0))[1] for pid, (_, hwm) in during.items()}
        figures = ", ".join(f"pid {pid}: VmRSS {during[pid][0] // 1024} MiB, VmHWM {before.get(pid, (0, 0))[1] // 1024}"
                            f" -> {during[pid][1] // 1024} MiB" for pid in sorted(during))
        print(f"     {len(report) // 1024} KiB x 40 reports, journal locked: {figures}")
        # Unbounded, one responder keeps every body: 40 x 1 MiB of report alone (it was 334 MB as found). Bounded,
        # at most 8 MiB of records wait (plus the one being answered and what the heap keeps).
        limit = 24 * 1024
        if not during:
            failures.append("no FastCGI responder found under this Apache")
        if sum(grown.values()) > limit:
            failures.append(f"the responders grew {sum(grown.values()) // 1024} MiB (over {limit // 1024} MiB): {figures}")
        # Once the lock is gone, the responder writes what it kept while idle and folds in the count of the rest.
        deadline = time.time() + 10
        while time.time() < deadline:
            self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
            time.sleep(0.5)
            lost, rows = counts()
            if rows - rows_before + lost - lost_before >= 40:
                break
        lost, rows = counts()
        print(f"     afterwards: {rows - rows_before} reports journaled, {lost - lost_before} counted as lost")
        if lost - lost_before < 40 - (8 << 20) // len(report) - 1:
            failures.append(f"only {lost - lost_before} counted as lost, {rows - rows_before} journaled")
        if rows - rows_before + lost - lost_before != 40:
            failures.append(f"of 40 reports {rows - rows_before} journaled and {lost - lost_before} counted lost")
        self.check("a locked journal: the FastCGI queue stays bounded in bytes and counts what it drops as lost",
                   failures)

    # --- 5. safe outputs -------------------------------------------------------------------------------------
    def outputs(self):
        mac, _, cert = self.phone("escapes")
        failures = []
        # Apache refuses a header with C0 controls (400), but passes UTF-8: bidi overrides and C1 codes get in.
        agent = "Cisco-CP-8841-3PCC/11.3.7\u202e\u009b2J (" + mac + ")\u202egpj.exe\u009b31m"
        self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert, headers=[f"User-Agent: {agent}"])
        self.curl(f"/prov/{mac}.xml", source=STRANGER, headers=[f"User-Agent: {agent}"])
        # A valid certificate of no known device: a claim, whose User-Agent `provctl claims` shows.
        self.curl("/cgi-bin/profile/000e08fffffe.xml", cert=os.path.join(self.pki, "demo-unknown"),
                  headers=[f"User-Agent: {agent}"])
        # Syslog lines carry any byte: an escape sequence in a phone's "Resync failed" line.
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log = os.path.join(self.work, "escapes.log")
        with open(log, "w") as f:
            f.write(f"{now}.000001+00:00 127.0.0.1 CP-8841-3PCC {mac} -- Resync failed: \x1b]0;owned\x07\x1b[2J\u202e\n")
        self.provctl("syslog", log)
        for command in (["fetches", mac], ["device", "show", mac], ["claims"], ["pending"]):
            out = self.provctl(*command, check=False).stdout  # pending exits 5 when it lists devices
            for bad in ("\x1b", "\x07", "\u202e", "\u009b"):
                if bad in out:
                    failures.append(f"provctl {' '.join(command)} prints {bad!r} raw")
        self.provctl("var", f"device:{mac}", "cmd==HYPERLINK(\"http://evil.example/\")", "neg=-5")
        exported = self.provctl("export").stdout
        if ",=HYPERLINK" in exported or "\"=HYPERLINK" in exported:
            failures.append("export writes a formula cell raw")
        raw = self.provctl("export", "--raw", check=False)
        if ",=HYPERLINK" not in raw.stdout and "\"=HYPERLINK" not in raw.stdout:
            failures.append(f"export --raw does not write the cell as stored: {raw.stderr.strip()[:80]}")
        _, head, _ = self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
        server = [line for line in head.splitlines() if line.lower().startswith("server:")]
        if server and server[0].split(":", 1)[1].strip() != "Apache":
            failures.append(f"the Server header says more than Apache: {server[0]}")
        self.check("caller bytes shown, not obeyed; formula cells neutralised; ServerTokens Prod", failures)

    def syslog(self):
        mac, _, cert = self.phone("syslog")
        self.curl(f"/cgi-bin/profile/{mac}.xml", cert=cert)
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log = os.path.join(self.work, "phones.log")
        with open(log, "w") as f:
            f.write(f"{now}.000001+00:00 {STRANGER} CP-8841-3PCC {mac} -- Resync failed: forged by a stranger\n")
            f.write(f"2099-01-01T00:00:00.000001+00:00 127.0.0.1 CP-8841-3PCC {mac} -- Resync failed: future\n")
        summary = self.provctl("syslog", log).stdout
        failures = []
        if "forged" in self.provctl("fetches", mac).stdout:
            failures.append("a line from a stranger's address was attached")
        lines = [p for f in json.loads(self.provctl("fetches", mac, "--json").stdout) for p in f.get("phone", [])]
        if any(line["time"].startswith("2099") for line in lines):
            failures.append("a future-dated line kept its date")
        if "1 from a host that is not the device's proven address" not in summary:
            failures.append(f"summary: {summary.strip()}")
        self.check("syslog lines only from the device's proven address; future dates clamped", failures)

    def run(self):
        cases = [self.push_address, self.cleartext, self.pending, self.secrets, self.brakes, self.reports,
                 self.queue, self.nonces, self.outputs, self.syslog]
        for case in cases:
            if self.args.only and case.__name__ not in self.args.only.split(","):
                continue
            try:
                case()
            except Exception as error:  # a case that cannot even run is a failure, named
                self.check(case.__name__, [f"{type(error).__name__}: {error}"])
        return 1 if self.failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="cgi")
    parser.add_argument("--provctl")
    parser.add_argument("--only", help="comma-separated case names (push_address, cleartext, pending, secrets, "
                                       "brakes, reports, queue, nonces, outputs, syslog)")
    sys.exit(Suite(parser.parse_args()).run())


if __name__ == "__main__":
    main()

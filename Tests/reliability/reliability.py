#!/usr/bin/env python3
"""The reliability suite: a real Apache (apache/serve) in front of profile-cgi, its configuration database and
journal on a tmpfs of their own, and everything a bad day brings: a resync storm while an admin edits, a missing,
unreadable or corrupt database, a full or read-only disk, an unwritable journal, write locks and exclusive lockers
held by other processes, provctl killed in the middle of an import, hostile certificate bytes, request bodies on
refused requests.

Run by Tests/reliability/run (which mounts the tmpfs and starts Apache); every figure it measures is printed, and
each check prints `ok` or `FAIL` with what it saw. Exit status 1 if any check failed.
"""
import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def say(text):
    print(text, flush=True)


def check(condition, what, detail=""):
    if condition:
        say("  ok    " + what)
    else:
        say("  FAIL  " + what + (": " + detail if detail else ""))
        failures.append(what)
    return condition


class Server:
    """The Apache of apache/serve and the files it serves from."""

    def __init__(self, state, port, provctl):
        self.state = state
        self.port = port
        self.provctl_path = provctl
        self.data = os.path.join(state, "data")
        self.db = os.path.join(state, "provisioner.db")          # a symlink into data/
        self.journal = os.path.join(state, "journal.db")         # a symlink into data/
        self.db_file = os.path.join(self.data, "provisioner.db")
        self.journal_file = os.path.join(self.data, "journal.db")
        self.ca = os.path.join(state, "pki", "ca.pem")
        self.error_log = os.path.join(state, "error.log")
        info = os.stat(state)
        self.lost_counter = "/dev/shm/provisioner-lost-%d-%d" % (info.st_dev, info.st_ino)

    def provctl(self, *args, check_status=True, timeout=60, env=None):
        run = subprocess.run([self.provctl_path, "--db", self.db] + list(args), capture_output=True, text=True,
                             timeout=timeout, env=env)
        if check_status and run.returncode != 0:
            raise RuntimeError("provctl %s: exit %d: %s" % (" ".join(args), run.returncode, run.stderr.strip()))
        return run

    def fetch(self, phone, path=None, method="GET", data=None, timeout=20):
        """One HTTPS request through curl (a new TLS connection), as `phone`. Returns a dict."""
        path = path or "/cgi-bin/profile/%s.xml" % phone["mac"]
        with tempfile.TemporaryDirectory(prefix="provisioner-rel-") as folder:
            body_path, head_path = os.path.join(folder, "body"), os.path.join(folder, "head")
            command = ["curl", "-sS", "--max-time", str(timeout), "--cacert", self.ca, "--cert", phone["cert"],
                       "--key", phone["key"], "-o", body_path, "-D", head_path,
                       "-w", "%{http_code} %{time_total} %{time_starttransfer}"]
            if method == "HEAD":
                command.append("--head")
            elif method != "GET":
                command += ["-X", method]
            if data is not None:
                command += ["--data-binary", "@" + data, "-H", "Content-Type: application/octet-stream"]
            command.append("https://localhost:%d%s" % (self.port, path))
            started = time.monotonic()
            run = subprocess.run(command, capture_output=True, text=True)
            ended = time.monotonic()
            fields = run.stdout.split()
            body = open(body_path, "rb").read() if os.path.exists(body_path) else b""
            head = open(head_path, "rb").read().decode("latin-1") if os.path.exists(head_path) else ""
        headers = {}
        for line in head.split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        return {"status": int(fields[0]) if fields else 0, "total": float(fields[1]) if len(fields) > 1 else -1,
                "first_byte": float(fields[2]) if len(fields) > 2 else -1, "body": body, "headers": headers,
                "curl": run.returncode, "error": run.stderr.strip(), "started": started, "ended": ended}

    def exchange(self, phone, path=None):
        """One request on a new TLS connection with `Connection: close`, through Python's ssl module: the time
        until the whole answer (Content-Length reached) and until the server closed the connection, in ms."""
        path = path or "/cgi-bin/profile/%s.xml" % phone["mac"]
        context = ssl.create_default_context(cafile=self.ca)
        context.load_cert_chain(phone["cert"], phone["key"])
        context.post_handshake_auth = True
        started = time.monotonic()
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        connection = context.wrap_socket(raw, server_hostname="localhost")
        connection.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                            "User-Agent: reliability\r\n\r\n" % path).encode())
        data, answered = b"", None
        while True:
            try:
                chunk = connection.recv(65536)
            except (ssl.SSLError, ConnectionError):
                chunk = b""
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if answered is None and head_end >= 0:
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", data[:head_end])
                if length and len(data) - head_end - 4 >= int(length.group(1)):
                    answered = time.monotonic()
        closed = time.monotonic()
        connection.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        return {"status": status, "answer": ((answered or closed) - started) * 1000, "close": (closed - started) * 1000}

    # What the journal holds, read with Python's sqlite3 (not our code), and what waits in the lost counter.
    def journal_counts(self):
        counts = {"fetches": 0, "lost": 0, "pending": 0}
        if os.path.exists(self.journal_file):
            try:
                connection = sqlite3.connect("file:%s?mode=ro" % self.journal_file, uri=True, timeout=5)
                counts["fetches"] = connection.execute("SELECT count(*) FROM fetches").fetchone()[0]
                counts["lost"] = connection.execute("SELECT coalesce(sum(count), 0) FROM lost WHERE what = 'fetch'").fetchone()[0]
                connection.close()
            except sqlite3.Error as error:
                counts["error"] = str(error)
        if os.path.exists(self.lost_counter):
            counts["pending"] = sum(1 for line in open(self.lost_counter) if line.split()[1:] == ["fetch"])
        return counts

    def lost_total(self):
        """Every lost record, of any kind, as provctl check should count them: the journal's `lost` rows plus the
        lines waiting in /dev/shm."""
        total = 0
        try:
            connection = sqlite3.connect("file:%s?mode=ro" % self.journal_file, uri=True, timeout=5)
            total += connection.execute("SELECT coalesce(sum(count), 0) FROM lost").fetchone()[0]
            connection.close()
        except sqlite3.Error:
            pass
        if os.path.exists(self.lost_counter):
            total += sum(1 for line in open(self.lost_counter) if line.strip())
        return total

    def error_log_size(self):
        return os.path.getsize(self.error_log) if os.path.exists(self.error_log) else 0

    def error_log_since(self, offset, wait_for=None, seconds=3):
        deadline = time.monotonic() + seconds
        while True:
            with open(self.error_log, "rb") as log:
                log.seek(offset)
                text = log.read()
            if wait_for is None or wait_for in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


def make_phones(server, count, folder):
    """`count` phones, half in each Cisco subject form (FACTS.md section 1), certificates signed with openssl by
    the server's test CA; registered with one `provctl import` (a device variable `who` = the MAC)."""
    os.makedirs(folder, exist_ok=True)
    key = os.path.join(folder, "phone.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                   check=True, capture_output=True)
    extensions = os.path.join(folder, "ext.cnf")
    with open(extensions, "w") as out:
        out.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                  "extendedKeyUsage=clientAuth\n")
    phones = []
    rows = ["mac,serial,model,group,variables"]
    for index in range(count):
        mac = "02%010x" % random.getrandbits(40)
        serial = "REL%05d" % index
        if index % 2 == 0:
            model, subject = "CP-8841-3PCC", "/OU=CP-8841-3PCC/L=%s/ST=%s" % (serial, mac)
        else:
            model = "CP-8861"
            subject = "/serialNumber=PID:CP-8861 SN:%s/O=Cisco Systems Inc./OU=CTG/CN=CP-8861-SEP%s" % (serial, mac.upper())
        cert = os.path.join(folder, mac + ".pem")
        request = subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", subject], check=True,
                                 capture_output=True).stdout
        subprocess.run(["openssl", "x509", "-req", "-CA", server.ca, "-CAkey", os.path.join(server.state, "pki", "ca.key"),
                        "-set_serial", "0x" + os.urandom(8).hex(), "-days", "30", "-sha256", "-extfile", extensions,
                        "-out", cert], input=request, check=True, capture_output=True)
        phones.append({"mac": mac, "serial": serial, "model": model, "cert": cert, "key": key,
                       "form": "ouls" if index % 2 == 0 else "cn"})
        rows.append("%s,%s,%s,storm,who=%s" % (mac, serial, model, mac))
    csv = os.path.join(folder, "phones.csv")
    with open(csv, "w") as out:
        out.write("\n".join(rows) + "\n")
    server.provctl("import", csv)
    return phones


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------------------------------------------
# The resync storm

def storm(server, phones, seconds, clients=8, mode="CGI"):
    say("== resync storm (%s): %d clients, new TLS per request, %d phones (%d OU/L/ST, %d CN=...-SEP<MAC>), "
        "provctl var every 100 ms, %d s" % (mode, clients, len(phones), sum(p["form"] == "ouls" for p in phones),
                                             sum(p["form"] == "cn" for p in phones), seconds))
    # The variables first: provctl refuses a setting that would leave a device unrenderable.
    server.provctl("var", "default", "gen=0", "who=none")
    server.provctl("set", "default", "User_ID_1_={{who}}", "GPP_B={{gen}}", "Station_Name=S-{{mac_upper}}")
    before = settled_counts(server)
    committed = [(0.0, 0)]          # (monotonic time provctl returned, value)
    attempted = []
    edit_failures = []
    stop = threading.Event()

    def admin():
        value = 0
        next_at = time.monotonic()
        while not stop.is_set():
            value += 1
            attempted.append(value)
            run = server.provctl("var", "default", "gen=%d" % value, check_status=False)
            if run.returncode == 0:
                committed.append((time.monotonic(), value))
            else:
                edit_failures.append((value, run.stderr.strip()))
            next_at += 0.1
            stop.wait(max(0.0, next_at - time.monotonic()))

    results = []
    lock = threading.Lock()

    def client(number):
        k = number
        while not stop.is_set():
            phone = phones[k % len(phones)]
            form = "gz" if (k // len(phones)) % 3 == 2 else "xml"
            k += clients
            answer = server.fetch(phone, "/cgi-bin/profile/%s.%s" % (phone["mac"], form))
            answer["phone"] = phone
            answer["form"] = form
            body = answer["body"]
            if form == "gz" and answer["status"] == 200:
                try:
                    body = gzip.decompress(body)
                except OSError:
                    body = b""
            text = body.decode("utf-8", "replace")
            user = re.search(r"<User_ID_1_[^>]*>([^<]*)</User_ID_1_>", text)
            station = re.search(r"<Station_Name[^>]*>([^<]*)</Station_Name>", text)
            gen = re.search(r"<GPP_B[^>]*>([^<]*)</GPP_B>", text)
            answer["user"] = user.group(1) if user else None
            answer["station"] = station.group(1) if station else None
            answer["gen"] = int(gen.group(1)) if gen and gen.group(1).isdigit() else None
            answer["body"] = None
            with lock:
                results.append(answer)

    threads = [threading.Thread(target=admin)] + [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    statuses = {}
    for answer in results:
        statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
    non200 = [a for a in results if a["status"] != 200]
    wrong = [a for a in results if a["status"] == 200 and (a["user"] != a["phone"]["mac"] or
                                                          a["station"] != "S-" + a["phone"]["mac"].upper())]
    committed_values = {value for _, value in committed}
    never = [a for a in results if a["status"] == 200 and a["gen"] not in committed_values]
    # Stale: a value older than one whose provctl had returned before the request started.
    stale = []
    for answer in results:
        if answer["status"] != 200 or answer["gen"] is None:
            continue
        floor = max(value for at, value in committed if at <= answer["started"])
        if answer["gen"] < floor:
            stale.append((answer["gen"], floor))
    # Backwards: a request that started after another ended must not see an older value.
    backwards = 0
    ordered = sorted((a for a in results if a["status"] == 200 and a["gen"] is not None), key=lambda a: a["ended"])
    by_start = sorted(ordered, key=lambda a: a["started"])
    highest, index = -1, 0
    for answer in by_start:
        while index < len(ordered) and ordered[index]["ended"] < answer["started"]:
            highest = max(highest, ordered[index]["gen"])
            index += 1
        if answer["gen"] < highest:
            backwards += 1
    last = max(committed_values)
    stored = server.provctl("variables", "default", "--json").stdout
    final = next((v["value"] for v in json.loads(stored) if v.get("name") == "gen"), None) if stored.strip() else None
    audit = sqlite3.connect("file:%s?mode=ro" % server.db_file, uri=True)
    # Every edit in the audit log, in order: its values are exactly the attempted ones.
    audited = [int(row[0]) for row in audit.execute(
        "SELECT new_value FROM audit WHERE action = 'var' AND target = 'default {{gen}}' ORDER BY id")]
    audited = audited[audited.index(1):] if 1 in audited else audited
    audit.close()
    totals = [a["total"] * 1000 for a in results if a["status"] == 200]
    say("  %d requests in %.1f s (%.0f/s), statuses %s; p50 %.1f ms, p99 %.1f ms, max %.1f ms"
        % (len(results), elapsed, len(results) / elapsed, json.dumps(statuses), median(totals),
           percentile(totals, 0.99), max(totals) if totals else float("nan")))
    say("  %d provctl edits (%d committed, %d failed), last value %d, stored %s, audit rows %d"
        % (len(attempted), len(committed) - 1, len(edit_failures), last, final, len(audited)))
    check(len(results) > 0, "the storm answered requests")
    check(not non200, "0 non-200 answers (%d)" % len(non200),
          "; ".join("%d %s" % (a["status"], a["error"]) for a in non200[:5]))
    check(not wrong, "0 wrong-phone profiles (%d)" % len(wrong))
    check(not never, "0 values never committed (%d)" % len(never), str([a["gen"] for a in never[:5]]))
    check(not stale, "0 stale values: none older than an edit committed before the request started (%d)" % len(stale),
          str(stale[:5]))
    check(backwards == 0, "0 values going backwards between requests in sequence (%d)" % backwards)
    check(not edit_failures and final == str(last), "0 lost edits: every provctl edit committed, the last (%d) is stored (%s)"
          % (last, final), str(edit_failures[:3]))
    check(audited == attempted, "every edit is in the audit log, in order (%d of %d)" % (len(audited), len(attempted)))
    settle_journal(server)
    after = server.journal_counts()
    recorded = after["fetches"] - before["fetches"]
    lost = (after["lost"] + after["pending"]) - (before["lost"] + before["pending"])
    say("  journal: %d fetch rows written, %d counted lost, for %d answers" % (recorded, lost, len(results)))
    check(recorded + lost == len(results), "every answer is in the journal or counted lost (%d + %d = %d)"
          % (recorded, lost, len(results)))
    return len(results)


def settle_journal(server, seconds=3):
    """Waits until no CGI is still writing its journal row (each writes after the phone has its answer)."""
    deadline = time.monotonic() + seconds
    previous = None
    while time.monotonic() < deadline:
        counts = server.journal_counts()
        if counts == previous:
            return
        previous = counts
        time.sleep(0.3)


def disk_case(server, phone, shm, tag):
    """Sets a disk fault case up: an admin change (so the case's answers differ from the last), the -shm file in
    place (a CGI reader leaves it) or -wal and -shm gone (provctl removes them when it closes as the last
    connection); returns the journal's counts and the lost total before the fault."""
    server.provctl("var", "default", "disk_case=%s" % tag)
    if shm:
        server.fetch(phone)
    for suffix in ("-shm", "-wal") if not shm else ():
        if os.path.exists(server.db_file + suffix):
            os.unlink(server.db_file + suffix)
    return settled_counts(server), server.lost_total()


def settled_counts(server):
    """The journal's counts once the requests before have written their rows: a CGI writes its row after the
    phone has the answer (or hands it to a child), a FastCGI responder in a batch; a count taken at once may miss
    the last row, which then lands in the next case's count."""
    settle_journal(server, 1.5)
    return server.journal_counts()


# ---------------------------------------------------------------------------------------------------------------
# The fault matrix

class Holder:
    """Another process holding a lock on a SQLite file: python3's sqlite3, in a child process that takes the lock
    on "hold" and drops it on "release" (a write transaction: BEGIN IMMEDIATE and an uncommitted insert), or takes
    the file in exclusive locking mode (PRAGMA locking_mode=EXCLUSIVE and a committed write) until it ends."""

    SCRIPT = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=2 if sys.argv[2] == "exclusive" else 10)
if sys.argv[2] == "exclusive":
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
    connection.execute("BEGIN EXCLUSIVE")
    connection.execute("CREATE TABLE IF NOT EXISTS reliability_lock (x)")
    connection.execute("INSERT INTO reliability_lock VALUES (1)")
    connection.execute("COMMIT")
    print("held", flush=True)
    sys.stdin.read()
else:
    for line in sys.stdin:
        if line.strip() == "hold":
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("CREATE TABLE IF NOT EXISTS reliability_lock (x)")
            connection.execute("INSERT INTO reliability_lock VALUES (1)")
            print("held", flush=True)
        else:
            connection.execute("ROLLBACK")
            print("released", flush=True)
connection.close()
"""

    def __init__(self, path, exclusive=False):
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, path, "exclusive" if exclusive else "write"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        self.exclusive = exclusive
        if exclusive:
            self.expect("held")

    def expect(self, word):
        line = self.process.stdout.readline()
        if line.strip() != word:
            raise RuntimeError("the lock holder said %r, not %s" % (line, word))

    def hold(self):
        self.process.stdin.write("hold\n")
        self.process.stdin.flush()
        self.expect("held")

    def release(self):
        self.process.stdin.write("release\n")
        self.process.stdin.flush()
        self.expect("released")

    def end(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def timed(server, phone, count):
    answers = [server.fetch(phone) for _ in range(count)]
    return answers, [a["total"] * 1000 for a in answers]


def lost_accounting(server, before, requests, what):
    """After a fault: the next clean request folds the counted losses into the journal; every request of the
    case must be a journal row or a counted loss."""
    settle_journal(server, 1.5)
    after = server.journal_counts()
    recorded = after["fetches"] - before["fetches"]
    lost = (after["lost"] + after["pending"]) - (before["lost"] + before["pending"])
    check(recorded + lost == requests, "%s: nothing lost: %d requests = %d journal rows + %d counted lost"
          % (what, requests, recorded, lost))
    return lost


def fault_matrix(server, phones, lock_rounds):
    phone = phones[0]
    say("== fault matrix (CGI mode), phone %s (%s form)" % (phone["mac"], phone["form"]))
    # Warm up and a baseline for the lock cases.
    server.fetch(phone)
    baseline_answers, baseline = timed(server, phone, lock_rounds)
    say("  baseline: %d requests, time_total median %.1f ms, p90 %.1f ms, max %.1f ms"
        % (len(baseline), median(baseline), percentile(baseline, 0.9), max(baseline)))
    check(all(a["status"] == 200 for a in baseline_answers), "baseline: all 200")

    def simple_case(name, expected, reason, setup, undo):
        before = settled_counts(server)
        offset = server.error_log_size()
        setup()
        try:
            answer = server.fetch(phone)
        finally:
            undo()
        log = server.error_log_since(offset, b"status=").decode("latin-1")
        line = next((l for l in log.splitlines() if "profile-cgi:" in l and phone["mac"] in l), "")
        check(answer["status"] == expected and reason in line,
              "%s: %d (%s), %.0f ms" % (name, answer["status"], reason, answer["total"] * 1000),
              "got %d, log: %s" % (answer["status"], line[-200:]))
        server.fetch(phone)   # a clean request: folds what was counted
        lost_accounting(server, before, 2, name)

    backup = os.path.join(server.data, "backup.db")

    def move_away():
        os.rename(server.db_file, backup)

    def move_back():
        os.rename(backup, server.db_file)

    simple_case("database missing", 500, "database unavailable", move_away, move_back)

    def unreadable():
        os.chmod(server.db_file, 0)

    def readable():
        os.chmod(server.db_file, 0o660)

    simple_case("database unreadable (mode 000)", 500, "database unavailable", unreadable, readable)

    def corrupt_random():
        shutil.copyfile(server.db_file, backup)
        size = os.path.getsize(server.db_file)
        with open(server.db_file, "r+b") as out:
            out.write(os.urandom(size))

    def restore():
        shutil.copyfile(backup, server.db_file)
        os.unlink(backup)

    simple_case("database corrupt (random bytes)", 500, "database unavailable", corrupt_random, restore)

    def corrupt_truncated():
        shutil.copyfile(server.db_file, backup)
        os.truncate(server.db_file, 4096)

    simple_case("database corrupt (truncated to one page)", 500, "database unavailable", corrupt_truncated, restore)

    disk_cases(server, phone)

    def journal_unwritable():
        os.chmod(server.journal_file, 0o444)

    def journal_writable():
        os.chmod(server.journal_file, 0o660)

    before = settled_counts(server)
    journal_unwritable()
    try:
        answers = [server.fetch(phone) for _ in range(3)]
    finally:
        journal_writable()
    check(all(a["status"] == 200 for a in answers), "journal unwritable (mode 444): 200 x3")
    server.fetch(phone)
    lost = lost_accounting(server, before, 4, "journal unwritable")
    check(lost == 3, "journal unwritable: the 3 records are counted lost (%d)" % lost)

    lock_cases(server, phone, lock_rounds, baseline)
    killed_import(server, phone)


def disk_cases(server, phone):
    """Full and read-only file system under the database and the journal (the tmpfs at data/)."""
    filler = os.path.join(server.data, "filler")

    def fill():
        # Whole megabytes, then 4 KB blocks, until the file system refuses (ENOSPC).
        for path, size in ((filler, 1 << 20), (filler + "2", 4096)):
            try:
                with open(path, "wb") as out:
                    while True:
                        out.write(b"\0" * size)
                        out.flush()
            except OSError:
                pass

    def empty():
        for path in (filler, filler + "2"):
            if os.path.exists(path):
                os.unlink(path)

    for shm in (True, False):
        what = "disk full, %s" % ("-shm in place" if shm else "no -shm (provctl closed last)")
        before, before_total = disk_case(server, phone, shm, "shm" if shm else "noshm")
        fill()
        try:
            free = os.statvfs(server.data)
            say("  %s: %d bytes free on the tmpfs" % (what, free.f_bavail * free.f_frsize))
            answers = [server.fetch(phone) for _ in range(3)]
            settle_journal(server, 1)
            check_run = server.provctl("check", "--json", check_status=False)
            expected_lost = server.lost_total()
        finally:
            empty()
        check(all(a["status"] == 200 for a in answers), "%s: a known phone gets its profile (%s)"
              % (what, [a["status"] for a in answers]))
        check_lost(what, check_run, expected_lost, before_total)
        server.fetch(phone)
        lost_accounting(server, before, 4, what)

    for shm in (True, False):
        what = "read-only file system, %s" % ("-shm in place" if shm else "no -shm")
        before, before_total = disk_case(server, phone, shm, "roshm" if shm else "ronoshm")
        remount = subprocess.run(["mount", "-o", "remount,ro", server.data], capture_output=True, text=True)
        if not check(remount.returncode == 0, "%s: remounted read-only" % what, remount.stderr.strip()):
            continue
        try:
            answers = [server.fetch(phone) for _ in range(3)]
            settle_journal(server, 1)
            check_run = server.provctl("check", "--json", check_status=False)
            expected_lost = server.lost_total()
        finally:
            subprocess.run(["mount", "-o", "remount,rw", server.data], check=True)
        check(all(a["status"] == 200 for a in answers), "%s: a known phone gets its profile (%s)"
              % (what, [a["status"] for a in answers]))
        check_lost(what, check_run, expected_lost, before_total)
        server.fetch(phone)
        lost_accounting(server, before, 4, what)


def check_lost(what, run, expected, before):
    """provctl check --json, run during the fault, reports every lost record there is (the journal's `lost` rows
    and the lines in /dev/shm, as read by Python), and the ones of this case with them."""
    try:
        shown = json.loads(run.stdout)["lost"]["total"]
    except (ValueError, KeyError, TypeError):
        check(False, "%s: provctl check reports what could not be recorded" % what, (run.stdout + run.stderr)[-300:])
        return
    note = run.stderr.strip().replace("\n", " ")
    say("  %s: provctl check (exit %d) reports %d lost record(s), %d of them during this fault%s"
        % (what, run.returncode, shown, expected - before, ("; " + note[:200]) if note else ""))
    check(shown == expected, "%s: provctl check reports what could not be recorded (%d, expected %d)"
          % (what, shown, expected))


def lock_cases(server, phone, rounds, baseline):
    """A write transaction held open by another process: each round times one request without the lock and one
    with it, back to back (so that the load of this shared machine falls on both alike), by the answer's last
    byte and by the server's close of the connection."""
    for target, path in (("configuration database", server.db_file), ("journal", server.journal_file)):
        before = settled_counts(server)
        holder = Holder(path)
        pairs = []
        try:
            server.exchange(phone)
            for _ in range(rounds):
                free = server.exchange(phone)
                holder.hold()
                try:
                    held = server.exchange(phone)
                finally:
                    holder.release()
                pairs.append((free, held))
            # provctl meanwhile: a bounded wait, and who holds the lock.
            if target == "configuration database":
                holder.hold()
                started = time.monotonic()
                run = server.provctl("var", "default", "locked=1", check_status=False)
                waited = time.monotonic() - started
                holder.release()
        finally:
            holder.end()
        answer_delay = [held["answer"] - free["answer"] for free, held in pairs]
        close_delay = [held["close"] - free["close"] for free, held in pairs]
        say("  write lock held on the %s, %d paired requests: answer %.1f ms free / %.1f ms held (delay median %+.1f, "
            "p75 %+.1f, max %+.1f); connection close %.1f / %.1f ms (delay median %+.1f, p75 %+.1f, max %+.1f)"
            % (target, rounds, median([f["answer"] for f, _ in pairs]), median([h["answer"] for _, h in pairs]),
               median(answer_delay), percentile(answer_delay, 0.75), max(answer_delay),
               median([f["close"] for f, _ in pairs]), median([h["close"] for _, h in pairs]),
               median(close_delay), percentile(close_delay, 0.75), max(close_delay)))
        check(all(f["status"] == 200 and h["status"] == 200 for f, h in pairs),
              "write lock on the %s: all answers 200" % target, str([(f["status"], h["status"]) for f, h in pairs]))
        # Judged on the median of the paired differences: a lock that reached the phone would delay every held
        # request (by the 100 ms wait, the 250 ms journal wait), while this shared machine's noise moves single
        # requests by tens of milliseconds either way (p75 and max are printed above).
        check(median(answer_delay) <= 20,
              "write lock on the %s: the answer is delayed by at most 20 ms (median of pairs %+.1f ms)"
              % (target, median(answer_delay)))
        check(median(close_delay) <= 20,
              "write lock on the %s: the connection close is delayed by at most 20 ms (median of pairs %+.1f ms)"
              % (target, median(close_delay)))
        if target == "configuration database":
            message = run.stderr.strip()
            say("  provctl under the lock: exit %d after %.1f s: %s" % (run.returncode, waited, message.replace("\n", " ")[:400]))
            check(run.returncode != 0 and waited < 12, "provctl waits a bounded time (%.1f s)" % waited)
            check("pid %d" % holder.process.pid in message and "python" in message,
                  "provctl names the lock holder (pid %d and its command)" % holder.process.pid, message)
        server.fetch(phone)
        lost_accounting(server, before, 2 * rounds + 2, "write lock on the %s" % target)

    for target, path in (("configuration database", server.db_file), ("journal", server.journal_file)):
        before = settled_counts(server)
        try:
            holder = Holder(path, exclusive=True)
        except RuntimeError:
            # A FastCGI responder keeps the file open (its lock on the -shm), so SQLite refuses exclusive mode
            # to the other process ("database is locked" after its 2 s wait): the locker never gets in.
            holder = None
            say("  exclusive locker on the %s: could not take the file (open in the responders), phones unaffected"
                % target)
        try:
            answers, times = timed(server, phone, 5)
        finally:
            if holder:
                holder.end()
        statuses = [a["status"] for a in answers]
        say("  exclusive locker on the %s: statuses %s, time_total max %.0f ms" % (target, statuses, max(times)))
        if target == "configuration database":
            check(all(s == 200 or (s == 503 and a["headers"].get("retry-after")) for s, a in zip(statuses, answers)),
                  "exclusive locker on the configuration database: profile or 503 with Retry-After (%s)"
                  % answers[0]["headers"].get("retry-after"))
        else:
            check(all(s == 200 for s in statuses), "exclusive locker on the journal: all 200")
        check(max(times) < 1000, "exclusive locker on the %s: a fast answer, never a 2 s stall (max %.0f ms)"
              % (target, max(times)))
        server.fetch(phone)
        lost_accounting(server, before, 6, "exclusive locker on the %s" % target)


def killed_import(server, phone):
    """provctl killed with SIGKILL in the middle of a large import: the database is as it was."""
    rows = ["mac,serial,model,group,variables"]
    for index in range(20000):
        rows.append("06%010x,KILL%06d,CP-8841-3PCC,killed,a=%d;b=x" % (index, index, index))
    csv = os.path.join(server.state, "kill.csv")
    with open(csv, "w") as out:
        out.write("\n".join(rows) + "\n")
    dump_before = subprocess.run(["sqlite3", "-readonly", server.db_file, ".dump"], capture_output=True).stdout
    process = subprocess.Popen([server.provctl_path, "--db", server.db, "import", csv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    # Kill once it writes: the write-ahead log grows while the transaction runs.
    deadline = time.monotonic() + 120
    wal = server.db_file + "-wal"
    while time.monotonic() < deadline and process.poll() is None:
        if os.path.exists(wal) and os.path.getsize(wal) > 64 * 1024:
            break
        time.sleep(0.002)
    mid = process.poll() is None and os.path.exists(wal) and os.path.getsize(wal) > 0
    wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    say("  provctl import of 20000 devices killed (SIGKILL) with %d bytes in the write-ahead log" % wal_size)
    check(mid, "the import was killed while it was writing (%d bytes in the write-ahead log)" % wal_size)
    dump_after = subprocess.run(["sqlite3", server.db_file, ".dump"], capture_output=True).stdout
    integrity = subprocess.run(["sqlite3", server.db_file, "PRAGMA integrity_check"], capture_output=True,
                               text=True).stdout.strip()
    check(dump_after == dump_before, "killed import: the database is unchanged (.dump identical, %d bytes)"
          % len(dump_after))
    check(integrity == "ok", "killed import: PRAGMA integrity_check ok (%s)" % integrity)
    answer = server.fetch(phone)
    check(answer["status"] == 200, "killed import: the phone is served (%d)" % answer["status"])
    os.unlink(csv)


# ---------------------------------------------------------------------------------------------------------------
# Log lines and request bodies

def hostile_log(server, folder):
    say("== log lines an admin can trust")
    key = os.path.join(folder, "phone.key")
    mac = "02%010x" % random.getrandbits(40)
    rlo = "\u202e"
    ou = "CP-8841-3PCC" + rlo + "evil\x1b[31m\"x y=z"
    cn = "Fake" + rlo + "\x07name"
    cert = os.path.join(folder, "hostile.pem")
    subject = "/CN=%s/OU=%s/L=REL-H1/ST=%s" % (cn, ou, mac)
    request = subprocess.run(["openssl", "req", "-new", "-key", key, "-utf8", "-subj", subject], check=True,
                             capture_output=True).stdout
    subprocess.run(["openssl", "x509", "-req", "-CA", server.ca, "-CAkey", os.path.join(server.state, "pki", "ca.key"),
                    "-set_serial", "0x" + os.urandom(8).hex(), "-days", "30", "-sha256", "-out", cert],
                   input=request, check=True, capture_output=True)
    shown = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"],
                           capture_output=True).stdout
    check(rlo.encode() in shown, "the certificate made with openssl carries U+202E in its subject")
    phone = {"mac": mac, "cert": cert, "key": key}
    server.provctl("device", "add", mac, "--serial", "REL-H1", "--model", "CP-8841-3PCC")
    offset = server.error_log_size()
    answers = [server.fetch(phone, "/cgi-bin/profile/%s.xml" % mac),
               server.fetch(phone, "/cgi-bin/profile/x%E2%80%AEy%01%22.xml"),
               server.fetch(phone, "/cgi-bin/profile/%s.xml" % mac, method="HEAD")]
    log = server.error_log_since(offset, b"method=HEAD")
    lines = [line for line in log.split(b"\n") if b"profile-cgi:" in line]
    say("  %d requests with a hostile certificate (statuses %s), %d log lines" % (len(answers),
                                                                                   [a["status"] for a in answers], len(lines)))
    for line in lines:
        say("    " + line.decode("latin-1")[-230:])
    check(len(lines) == len(answers), "one request, one line (%d lines for %d requests)" % (len(lines), len(answers)))
    raw = [line for line in lines if any(b < 0x20 or b > 0x7e for b in line)]
    check(not raw, "no byte outside printable ASCII in the lines")
    check(all(rlo.encode() not in line for line in lines), "U+202E never reaches the log raw")
    # The CGI writes \xe2\x80\xae; Apache's error log escapes the backslash once more.
    check(any(b"xe2" in line and b"x80" in line and b"xae" in line for line in lines),
          "the override is shown escaped as \\xe2\\x80\\xae")
    check(any(b"model=" in line and b"evil" in line and b"\"" in line for line in lines),
          "a value with a space, a quote and '=' is quoted, so it cannot forge a field")


def bodies(server, phones):
    say("== bodies of refused requests")
    phone = phones[0]
    offset = server.error_log_size()
    results = []
    with tempfile.TemporaryDirectory(prefix="provisioner-rel-") as folder:
        for size in (1000, 65536, 120000, 1 << 20):
            data = os.path.join(folder, "body")
            with open(data, "wb") as out:
                out.write(os.urandom(size))
            for method in ("PUT", "POST"):
                answer = server.fetch(phone, method=method, data=data)
                results.append((method, size, answer["status"], answer["curl"]))
    time.sleep(0.5)
    log = server.error_log_since(offset).decode("latin-1")
    resets = [line for line in log.splitlines() if "AH00574" in line or "reset" in line.lower()
              or "AH01215" in line and "profile-cgi" not in line]
    say("  %s" % ", ".join("%s %d B -> %d (curl %d)" % r for r in results))
    check(all(status == 405 and curl == 0 for _, size, status, curl in results if size < 128 * 1024),
          "PUT/POST with a body up to 120,000 bytes: 405 from profile-cgi, cleanly")
    # Larger bodies: mod_ssl buffers a body while it asks for the client certificate of a location
    # (SSLRenegBufferSize, 128 KB by default) and answers 413 itself past that; the CGI drains up to 1 MB.
    check(all(status in (405, 413) and curl == 0 for _, size, status, curl in results if size >= 128 * 1024),
          "PUT/POST with a 1 MB body: 405, or 413 from mod_ssl's renegotiation buffer, cleanly")
    check(not resets, "no AH00574 or connection reset in Apache's error log (%d)" % len(resets),
          "; ".join(resets[:3]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--provctl", required=True)
    parser.add_argument("--storm-seconds", type=int, default=20)
    parser.add_argument("--phones", type=int, default=32)
    parser.add_argument("--lock-rounds", type=int, default=15)
    parser.add_argument("--mode", default="CGI")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    server = Server(args.state, args.port, args.provctl)
    folder = os.path.join(args.state, "rel-pki")
    started = time.monotonic()
    phones = make_phones(server, args.phones, folder)
    say("made %d phones in %.1f s" % (len(phones), time.monotonic() - started))
    parts = args.only.split(",") if args.only else ["storm", "faults", "log", "bodies"]
    if "storm" in parts:
        storm(server, phones, args.storm_seconds, mode=args.mode)
    if "faults" in parts:
        fault_matrix(server, phones, args.lock_rounds)
    elif "locks" in parts:
        say("== locks (%s mode), phone %s" % (args.mode, phones[0]["mac"]))
        lock_cases(server, phones[0], args.lock_rounds, None)
    if "log" in parts:
        hostile_log(server, folder)
    if "bodies" in parts:
        bodies(server, phones)
    say("== reliability (%s): %d check(s) failed%s" % (args.mode, len(failures),
                                                       (": " + "; ".join(failures)) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

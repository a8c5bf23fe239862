"""Jobs (issue 24 point 3): resync jobs started through the API and through provctl, their progress, items,
cancel, one job per kind, a restart of the daemon mid-job, and Idempotency-Key on creates."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from admind import Daemon

MACS = ["000e08abcd%02x" % n for n in range(1, 7)]


def add_devices(daemon, macs=MACS, group="sales"):
    for mac in macs:
        daemon.provctl("device", "add", mac, "--group", group)


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s")


def job(client, location):
    answer = client.get(location)
    assert answer.status == 200, answer
    return answer.json


def finished(client, location, timeout=30):
    return wait_for(lambda: (lambda j: j if j["state"] not in ("queued", "running") else None)(job(client, location)),
                    timeout, "end of the job")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SippPhones:
    """sipp answering every NOTIFY with `Event: resync` by 200 OK: the phones of a resync job (all at one address,
    given with --address). Stopped by its pid."""

    SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="phones answering resync">
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *resync *$" search_in="hdr" header="Event:" check_it="true" assign_to="event"/>
      <log message="event [$event]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
</scenario>
"""

    def __init__(self, folder, calls):
        self.port = free_udp_port()
        self.messages = os.path.join(folder, f"sipp-{self.port}.log")
        scenario = os.path.join(folder, f"phones-{self.port}.xml")
        with open(scenario, "w") as f:
            f.write(self.SCENARIO)
        self.process = subprocess.Popen(["sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", str(self.port), "-m", str(calls),
                                         "-timeout", "60s", "-trace_msg", "-message_file", self.messages, "-nostdin"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: (":%04X " % self.port) in open("/proc/net/udp").read(), 10, "sipp listening")

    def notifies(self):
        try:
            with open(self.messages, errors="replace") as f:
                return f.read().count("NOTIFY sip:")
        except OSError:
            return 0

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def phones(daemon):
    started = []

    def make(calls):
        p = SippPhones(daemon.folder, calls)
        started.append(p)
        return p
    yield make
    for p in started:
        p.stop()


def provctl_job(daemon, *args):
    """`provctl resync --job ...` against the daemon's state folder: the job it queued, as JSON."""
    result = daemon.provctl("resync", *args, "--job", "--state-dir", daemon.folder, json_output=True)
    return json.loads(result.stdout)


def test_resync_job_lifecycle(daemon):
    add_devices(daemon, MACS[:3])
    client = daemon.client()
    answer = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "rate": 50})
    assert answer.status == 202, answer
    location = answer.header("location")
    assert location == f"/api/v1/jobs/{answer.json['id']}"
    assert answer.json["kind"] == "resync" and answer.json["state"] in ("queued", "running")
    assert answer.json["started_by"] == "alice"
    assert answer.json["progress"]["total"] == 3
    done = finished(client, location)
    assert done["state"] == "done"
    assert done["progress"] == {"total": 3, "handled": 3, "ok": 0, "failed": 0, "skipped": 3}
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    items = client.get(location + "/items").json
    assert [item["target"] for item in items["items"]] == MACS[:3]
    assert {item["outcome"] for item in items["items"]} == {"skipped"}
    assert items["items"][0]["detail"] == "skipped: no address: never fetched a profile (use --address)"
    assert items["items"][0]["event"] == "resync" and items["items"][0]["via"] == "sip"
    assert items["next_after"] is None
    page = client.get(location + "/items?limit=2").json
    assert len(page["items"]) == 2 and page["next_after"] == 2
    assert [i["seq"] for i in client.get(location + "/items?after=2").json["items"]] == [3]
    listed = client.get("/api/v1/jobs?kind=resync").json
    assert [j["id"] for j in listed["items"]] == [done["id"]]
    assert client.get("/api/v1/jobs?kind=import").json["items"] == []


def test_resync_dry_run_previews_and_queues_nothing(daemon):
    add_devices(daemon, MACS[:3])
    client = daemon.client()
    answer = client.post("/api/v1/resync?dry_run=true", body={"selection": {"macs": [MACS[1], MACS[0]]}, "rate": 1})
    assert answer.status == 200, answer
    assert answer.json == {"result": "dry_run", "devices": 2, "macs": [MACS[1], MACS[0]], "seconds": 2}
    assert client.get("/api/v1/jobs").json["items"] == []


def test_selection_errors(daemon):
    add_devices(daemon, MACS[:1])
    client = daemon.client()
    empty = client.post("/api/v1/resync", body={"selection": {}})
    assert empty.status == 422 and empty.json["rule"] == "empty_selection", empty
    unknown = client.post("/api/v1/resync", body={"selection": {"macs": ["000e08ffffff"]}})
    assert unknown.status == 404 and unknown.json["field"] == "selection.macs", unknown
    bad = client.post("/api/v1/resync", body={"selection": {"macs": ["nonsense"]}})
    assert bad.status == 400 and bad.json["field"] == "selection.macs", bad
    assert client.get("/api/v1/jobs").json["items"] == []


def test_jobs_404_and_viewer(daemon):
    assert daemon.client().get("/api/v1/jobs/99").status == 404
    assert daemon.client().get("/api/v1/jobs/99/items").status == 404
    assert daemon.client().post("/api/v1/jobs/99/cancel").status == 404
    add_devices(daemon, MACS[:1])
    started = daemon.client().post("/api/v1/resync", body={"selection": {"all": True}})
    assert started.status == 202
    viewer = daemon.client(user="victor", role="viewer")
    assert viewer.get(started.header("location")).status == 200
    assert viewer.post(started.header("location") + "/cancel").status == 403
    assert viewer.post("/api/v1/resync", body={"selection": {"all": True}}).status == 403
    finished(daemon.client(), started.header("location"))
    again = daemon.client().post(started.header("location") + "/cancel")
    assert again.status == 409 and again.json["rule"] == "queued_or_running", again


def test_paced_job_against_sipp_progress_409_and_cancel(daemon, phones):
    add_devices(daemon)
    phone = phones(len(MACS))
    client = daemon.client()
    # Started by provctl through the jobs file, run by the daemon, followed through the API.
    queued = provctl_job(daemon, "--group", "sales", "--rate", "2", "--address", f"127.0.0.1:{phone.port}")
    location = f"/api/v1/jobs/{queued['id']}"
    assert queued["started_by"] == "tester" and queued["progress"]["total"] == len(MACS)
    # Progress shows while it runs: some phones answered, not all.
    running = wait_for(lambda: (lambda j: j if j["state"] == "running" and 1 <= j["progress"]["handled"] < len(MACS) else None)(
        job(client, location)), 20, "progress while running")
    assert running["progress"]["ok"] >= 1
    # One resync job at a time.
    second = client.post("/api/v1/resync", body={"selection": {"group": "sales"}})
    assert second.status == 409 and second.json["rule"] == "one_job_per_kind", second
    cancel = client.post(location + "/cancel")
    assert cancel.status == 202 and cancel.json["cancel_requested"] is True, cancel
    ended = finished(client, location)
    assert ended["state"] == "cancelled"
    handled = ended["progress"]["handled"]
    assert handled < len(MACS), ended
    items = client.get(location + "/items").json["items"]
    assert len(items) == handled
    assert all(i["outcome"] == "ok" and i["detail"].startswith("200") and i["address"] == f"127.0.0.1:{phone.port}"
               and i["address_source"] == "admin" for i in items), items
    time.sleep(1)
    assert phone.notifies() == handled, "no NOTIFY after the cancel"
    # The kind is free again.
    assert client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "rate": 50}).status == 202


def test_restart_mid_job_marks_it_interrupted(daemon, phones):
    add_devices(daemon)
    phone = phones(len(MACS))
    queued = provctl_job(daemon, "--group", "sales", "--rate", "1", "--address", f"127.0.0.1:{phone.port}")
    location = f"/api/v1/jobs/{queued['id']}"
    client = daemon.client()
    wait_for(lambda: job(client, location)["progress"]["handled"] >= 1, 20, "a first item")
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(10)
    daemon.start()
    after = job(daemon.client(), location)
    assert after["state"] == "interrupted", after
    assert 1 <= after["progress"]["handled"] < len(MACS) and after["finished_at"]
    assert len(daemon.client().get(location + "/items").json["items"]) == after["progress"]["handled"]
    # SIGTERM while a job runs: it stops after its current step, interrupted too.
    phone2 = phones(len(MACS))
    second = provctl_job(daemon, "--group", "sales", "--rate", "1", "--address", f"127.0.0.1:{phone2.port}")
    wait_for(lambda: job(daemon.client(), f"/api/v1/jobs/{second['id']}")["progress"]["handled"] >= 1, 20, "a first item")
    daemon.stop()
    assert daemon.process.returncode == 0
    daemon.start()
    assert job(daemon.client(), f"/api/v1/jobs/{second['id']}")["state"] == "interrupted"


def test_idempotent_retry(daemon):
    add_devices(daemon, MACS[:2])
    client = daemon.client()
    body = {"selection": {"group": "sales"}, "rate": 50}
    key = {"Idempotency-Key": "retry-0001-abcdef"}
    first = client.post("/api/v1/resync", body=body, headers=key)
    assert first.status == 202
    finished(client, first.header("location"))
    retry = client.post("/api/v1/resync", body=body, headers=key)
    assert retry.status == 202 and retry.body == first.body
    assert retry.header("location") == first.header("location")
    assert retry.header("idempotent-replayed") == "true"
    assert len(client.get("/api/v1/jobs").json["items"]) == 1, "the retry queued nothing"
    other = client.post("/api/v1/resync", body={"selection": {"macs": [MACS[0]]}}, headers=key)
    assert other.status == 422 and other.json["rule"] == "idempotency_key_reused", other
    # Another user's key is theirs.
    bob = daemon.client(user="bob").post("/api/v1/resync", body=body, headers=key)
    assert bob.status == 202 and bob.json["id"] != first.json["id"]
    assert daemon.client().post("/api/v1/resync", body=body, headers={"Idempotency-Key": "short"}).status == 400


def test_idempotency_does_not_keep_a_conflict(daemon, phones):
    add_devices(daemon)
    phone = phones(len(MACS))
    queued = provctl_job(daemon, "--group", "sales", "--rate", "1", "--address", f"127.0.0.1:{phone.port}")
    client = daemon.client()
    key = {"Idempotency-Key": "conflict-key-0001"}
    body = {"selection": {"group": "sales"}, "rate": 50}
    assert client.post("/api/v1/resync", body=body, headers=key).status == 409
    client.post(f"/api/v1/jobs/{queued['id']}/cancel")
    finished(client, f"/api/v1/jobs/{queued['id']}")
    retried = client.post("/api/v1/resync", body=body, headers=key)
    assert retried.status == 202 and retried.header("idempotent-replayed") is None, retried


def test_provctl_job_commands_show_the_api_job(daemon):
    add_devices(daemon, MACS[:2])
    client = daemon.client()
    started = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "rate": 50})
    assert started.status == 202
    waited = daemon.provctl("job", "wait", started.json["id"], "--state-dir", daemon.folder, json_output=True)
    api = job(client, started.header("location"))
    assert json.loads(waited.stdout) == api
    listed = json.loads(daemon.provctl("job", "list", "--state-dir", daemon.folder, json_output=True).stdout)
    assert listed == client.get("/api/v1/jobs").json
    assert [j["id"] for j in listed["items"]] == [started.json["id"]]
    items = json.loads(daemon.provctl("job", "items", started.json["id"], "--state-dir", daemon.folder, json_output=True).stdout)
    assert items == client.get(started.header("location") + "/items?limit=1000").json
    text = daemon.provctl("job", "list", "--state-dir", daemon.folder).stdout
    assert "resync" in text and "alice" in text and "2/2" in text
    missing = daemon.provctl("job", "show", "42", "--state-dir", daemon.folder, check=False)
    assert missing.returncode == 3
    done = daemon.provctl("job", "cancel", started.json["id"], "--state-dir", daemon.folder, check=False)
    assert done.returncode == 4


CSV = "mac,model,group,var:ext\n000e08aaaa01,CP-8841-3PCC,sales,1001\n000e08aaaa02,CP-8841-3PCC,sales,1002\n"
BAD_CSV = "mac,group\n000e08aaaa01,sales\nnot-a-mac,sales\n000e08aaaa03,sales\n"


def copy_of(daemon):
    """A second database, the same as the daemon's: for parity with provctl."""
    twin = Daemon(db=os.path.join(daemon.folder, "twin.db"))
    daemon.provctl("backup", twin.db)
    return twin


def devices(d):
    return json.loads(d.provctl("device", "list", json_output=True).stdout)


def test_import_job_dry_run_and_parity_with_provctl(daemon):
    twin = copy_of(daemon)
    client = daemon.client()
    preview = client.post("/api/v1/import?dry_run=true", body=CSV, content_type="text/csv")
    assert preview.status == 200, preview
    assert preview.json["result"] == "dry_run" and preview.json["dry_run"] is True
    assert preview.json["devices_checked"] == 2
    assert devices(daemon) == [], "a dry run writes nothing"
    started = client.post("/api/v1/import", body=CSV, content_type="text/csv")
    assert started.status == 202 and started.json["kind"] == "import" and started.json["progress"]["total"] == 2, started
    done = finished(client, started.header("location"))
    assert done["state"] == "done" and done["change_set"] is not None, done
    assert done["progress"] == {"total": 2, "handled": 2, "ok": 2, "failed": 0, "skipped": 0}
    # The same file through provctl import on the twin: the same devices.
    with open(os.path.join(daemon.folder, "devices.csv"), "w") as f:
        f.write(CSV)
    twin.provctl("import", os.path.join(daemon.folder, "devices.csv"))
    assert devices(daemon) == devices(twin) and len(devices(daemon)) == 2
    history = json.loads(daemon.provctl("history", json_output=True).stdout)
    assert history[0]["who"] == "api:alice" and history[0]["id"] == done["change_set"]
    # The CSV (keys, HA1s) is not kept once the job ended, and only the daemon's user reads the file.
    jobs_db = os.path.join(daemon.folder, "jobs.db")
    assert os.stat(jobs_db).st_mode & 0o777 == 0o600
    with sqlite3.connect(jobs_db) as db:
        assert db.execute("SELECT count(*) FROM jobs WHERE input IS NOT NULL").fetchone() == (0,)


def test_import_bad_rows_refused_or_skipped(daemon):
    client = daemon.client()
    refused = client.post("/api/v1/import", body=BAD_CSV, content_type="text/csv")
    assert refused.status == 422, refused
    assert [p["line"] for p in refused.json["problems"]] == [3]
    assert client.get("/api/v1/jobs").json["items"] == [], "nothing queued"
    started = client.post("/api/v1/import?skip_invalid=true", body=BAD_CSV, content_type="text/csv")
    assert started.status == 202, started
    done = finished(client, started.header("location"))
    assert done["state"] == "done" and done["progress"]["skipped"] == 1 and done["progress"]["ok"] == 2, done
    items = client.get(started.header("location") + "/items").json["items"]
    assert [(i["target"], i["outcome"]) for i in items] == [("line:3", "skipped")]
    assert [d["mac"] for d in devices(daemon)] == ["000e08aaaa01", "000e08aaaa03"]


def test_revert_job_and_parity_with_provctl(daemon):
    daemon.provctl("set", "default", "Resync_Periodic=3600")
    daemon.provctl("set", "default", "Display_Name_1_=Front desk")
    daemon.provctl("device", "add", "000e08bbbb01")
    history = json.loads(daemon.provctl("history", json_output=True).stdout)
    sets = [h["id"] for h in history]
    twin = copy_of(daemon)
    client = daemon.client()
    preview = client.post("/api/v1/reverts?dry_run=true", body={"change_sets": sets[:2]})
    assert preview.status == 200 and preview.json["result"] == "dry_run", preview
    assert json.loads(daemon.provctl("history", json_output=True).stdout) == history, "a dry run writes nothing"
    missing = client.post("/api/v1/reverts", body={"change_sets": [999]})
    assert missing.status == 404, missing
    started = client.post("/api/v1/reverts", body={"change_sets": sets[:2]})
    assert started.status == 202 and started.json["kind"] == "revert", started
    done = finished(client, started.header("location"))
    assert done["state"] == "done" and done["change_set"] is not None, done
    items = client.get(started.header("location") + "/items").json["items"]
    assert [i["target"] for i in items] == [str(s) for s in sorted(sets[:2], reverse=True)]
    # provctl reverts the same two change sets, newest first, on the twin: the same settings and devices.
    for change_set in sorted(sets[:2], reverse=True):
        twin.provctl("revert", str(change_set))
    settings = lambda d: d.provctl("settings", "default", json_output=True).stdout
    assert settings(daemon) == settings(twin)
    assert devices(daemon) == devices(twin) == []
    assert "Display_Name_1_" not in settings(daemon) and "Resync_Periodic" in settings(daemon)


def test_resync_through_the_api_with_address_and_via(daemon, phones):
    """The API's resync takes what `provctl resync` takes: `address` (e.g. the provider's SIP proxy) and `via`."""
    add_devices(daemon, MACS[:2])
    phone = phones(2)
    client = daemon.client()
    started = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "rate": 50,
                                                    "address": f"127.0.0.1:{phone.port}"})
    assert started.status == 202, started
    done = finished(client, started.header("location"))
    assert done["progress"]["ok"] == 2, done
    items = client.get(started.header("location") + "/items").json["items"]
    assert {(i["address"], i["address_source"], i["via"]) for i in items} == {(f"127.0.0.1:{phone.port}", "admin", "sip")}
    assert wait_for(lambda: phone.notifies() == 2, 10, "two NOTIFYs at the given address")
    bad = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "address": "192.0.2.1:99999"})
    assert bad.status == 400 and bad.json["field"] == "address" and bad.json["rule"] == "host[:port]", bad
    assert "99999" in bad.json["detail"] and "--address" not in bad.json["detail"], bad
    http_report = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "via": "http", "event": "report"})
    assert http_report.status == 400 and http_report.json["field"] == "event", http_report
    # via http, queued (the phones were never seen: skipped), keeps what it was asked.
    http = client.post("/api/v1/resync", body={"selection": {"group": "sales"}, "via": "http", "rate": 50,
                                                 "cleartext_credentials": True})
    assert http.status == 202, http
    assert finished(client, http.header("location"))["state"] == "done"
    assert {i["via"] for i in client.get(http.header("location") + "/items").json["items"]} == {"http"}
    options = sqlite3.connect(os.path.join(daemon.folder, "jobs.db")).execute(
        "SELECT options FROM jobs WHERE id = ?", (http.json["id"],)).fetchone()[0]
    assert "cleartext_credentials=yes" in options.split("\n") and "via=http" in options.split("\n"), options

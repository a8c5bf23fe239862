"""The fleet operations of the admin API (claims, adopt, pending, history, one change set, revert, export, backup,
check): each answers what its provctl twin prints with --json, a change through the API and through provctl on two
copies of one database leaves the same rows, secrets stay masked, a viewer reads but does not change, and bad input
is a problem detail naming its field and rule."""
import csv
import io
import os
import shutil
import sqlite3
import tempfile

import pytest

from admind import Daemon

MAC = "000e08aa0001"
MAC2 = "000e08aa0002"
CLAIMED = "000e08abcdef"
CLAIMED2 = "000e08abcd01"
KEY = "a long enough passphrase 1234"
PASSWORD = "s3cret-sip-password"


def without_nulls(value):
    """The generated server leaves out a member whose value is null; provctl prints it as null. The same
    answer either way: compared without null members."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def provctl_json(daemon, *args):
    """`provctl ARGS --json`, parsed (pending and check exit 5 when they list something)."""
    result = daemon.provctl(*args, check=False, json_output=True)
    assert result.returncode in (0, 5), result
    import json
    return json.loads(result.stdout)


def provctl_export(daemon, *args):
    """`provctl export FILE ARGS`: the bytes it writes (CSV lines end in CRLF)."""
    target = os.path.join(daemon.folder, "export-%d.csv" % len(os.listdir(daemon.folder)))
    daemon.provctl("export", target, *args)
    with open(target, "rb") as f:
        data = f.read()
    os.unlink(target)
    return data


def add_claims(daemon):
    """Two claims, as profile-cgi records them (the journal made by a provctl write first)."""
    log = os.path.join(daemon.folder, "empty.log")
    open(log, "w").close()
    daemon.provctl("syslog", log)
    journal = os.path.join(daemon.folder, "journal.db")
    assert os.path.exists(journal)
    db = sqlite3.connect(journal)
    with db:
        db.executescript(f"""
            INSERT INTO claims (mac, node, serial, model, remote_addr, user_agent, first_seen, last_seen, count)
            VALUES ('{CLAIMED}', 'n1', 'FCH123', 'CP-8841-3PCC', '10.1.2.3', 'Cisco-CP-8841-3PCC/12.0.1 ({CLAIMED})',
                    1700000000, 1700000500, 4),
                   ('{CLAIMED2}', 'n1', 'FCH456', 'CP-7841-3PCC', '10.1.2.4', NULL, 1700000000, 1700000000, 1);
            """)
    db.close()


def seed(daemon):
    """Two devices (one encrypted, with a key), settings of which one is a secret, a variable, and two claims."""
    daemon.provctl("device", "add", MAC, "--model", "CP-8841-3PCC", "--group", "sales",
                   "--encrypt", "aes-256-cbc", "--key", KEY)
    daemon.provctl("device", "add", MAC2, "--model", "CP-7841-3PCC", "--group", "support")
    daemon.provctl("set", "default", "Resync_Periodic=3600")
    daemon.provctl("set", "group:sales", "Resync_Periodic=600")
    daemon.provctl("set", f"device:{MAC}", f"Password_1_={PASSWORD}", "Display_Name_1_=Alice")
    daemon.provctl("var", f"device:{MAC}", "ext=1001")
    add_claims(daemon)


@pytest.fixture
def fleet():
    """A seeded database and a daemon serving it."""
    d = Daemon()
    seed(d)
    d.start()
    yield d
    d.remove()


@pytest.fixture
def twin(fleet):
    """A copy of the fleet's database (and journal), for provctl: the same change through both must agree."""
    folder = tempfile.mkdtemp(prefix="admind-twin-")
    # SQLite's online backup: a consistent copy while the daemon runs (its onboarding promoter opens and closes
    # the database every 2 s, so a -wal file may come and go between listing the folder and copying it).
    for name in ("provisioner.db", "journal.db"):
        source = os.path.join(fleet.folder, name)
        if os.path.exists(source):
            with sqlite3.connect(source) as src, sqlite3.connect(os.path.join(folder, name)) as dst:
                src.backup(dst)
    d = Daemon(folder=folder, db=os.path.join(folder, "provisioner.db"))
    yield d
    d.remove()


def rows(daemon, query):
    with sqlite3.connect(daemon.db) as db:
        return db.execute(query).fetchall()


# Every column but created_at and updated_at (the second the change ran).
DEVICES = ("SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, ece_key_id, "
           "ece_record_size, account_user, account_realm, account_ha1, bootstrap FROM devices ORDER BY mac")
SETTINGS = "SELECT * FROM settings ORDER BY 1, 2, 3, 4"


def assert_problem(answer, status, field, rule=None):
    assert answer.status == status, answer
    assert answer.header("content-type") == "application/problem+json"
    assert answer.json["field"] == field, answer.json
    if rule is not None:
        assert answer.json["rule"] == rule, answer.json


# -- claims and adopt ------------------------------------------------------------------------------------------------

def test_claims_as_provctl_prints_them(fleet):
    answer = fleet.client(role="viewer").get("/api/v1/claims")
    assert answer.status == 200, answer
    assert [c["mac"] for c in answer.json] == [CLAIMED, CLAIMED2]
    assert answer.json[0]["serial"] == "FCH123" and answer.json[0]["count"] == 4
    assert without_nulls(answer.json) == without_nulls(provctl_json(fleet, "claims"))


def test_adopt_is_201_audited_as_the_caller_and_as_provctl_adopt(fleet, twin):
    answer = fleet.client(user="bob").post(f"/api/v1/claims/{CLAIMED}/adopt", body={"group": "sales"})
    assert answer.status == 201, answer
    assert answer.header("location") == f"/api/v1/devices/{CLAIMED}"
    assert answer.header("etag").startswith("\"") and answer.header("etag").endswith("\"")
    body = answer.json
    assert body["result"] == "changed" and body["action"] == "adopt" and body["count"] == 1
    assert body["macs"] == [CLAIMED]
    assert isinstance(body["change_set"], int)
    # provctl adopt on the twin: the same device row, the same answer but for the ids and who.
    twin_result = provctl_json(twin, "adopt", CLAIMED, "--group", "sales")
    assert rows(fleet, DEVICES) == rows(twin, DEVICES)
    for key in ("ok", "action", "count", "message", "macs"):
        assert body[key] == twin_result[key], key
    assert rows(fleet, f"SELECT serial, model, group_name FROM devices WHERE mac = '{CLAIMED}'") == [("FCH123", "CP-8841-3PCC", "sales")]
    # The history names the API's user.
    history = fleet.client().get(f"/api/v1/history/{body['change_set']}").json
    assert {entry["who"] for entry in history} == {"api:bob"}
    assert "adopt" in {entry["action"] for entry in history}
    # The claim is gone.
    assert CLAIMED not in [c["mac"] for c in fleet.client().get("/api/v1/claims").json]


def test_adopt_dry_run_writes_nothing(fleet):
    before = rows(fleet, DEVICES)
    answer = fleet.client().post(f"/api/v1/claims/{CLAIMED}/adopt?dry_run=true", body={})
    assert answer.status == 200, answer
    assert answer.json["result"] == "dry_run" and answer.json["dry_run"] is True
    assert rows(fleet, DEVICES) == before
    assert CLAIMED in [c["mac"] for c in fleet.client().get("/api/v1/claims").json]


def test_adopt_failures_are_problems(fleet):
    client = fleet.client()
    assert client.post("/api/v1/claims/000e08000000/adopt", body={}).status == 404
    assert client.post(f"/api/v1/claims/{MAC}/adopt", body={}).status in (404, 409)
    assert_problem(client.post("/api/v1/claims/zz0e08abcdef/adopt", body={}), 400, "mac", "mac_format")
    bad = client.post(f"/api/v1/claims/{CLAIMED}/adopt", body={"group": "sa les/x"})
    assert bad.status in (400, 422), bad
    assert bad.json["field"] == "group", bad.json
    assert CLAIMED in [c["mac"] for c in client.get("/api/v1/claims").json]


def test_viewer_cannot_adopt(fleet):
    answer = fleet.client(role="viewer").post(f"/api/v1/claims/{CLAIMED}/adopt", body={})
    assert_problem(answer, 403, "role")
    assert rows(fleet, f"SELECT count(*) FROM devices WHERE mac = '{CLAIMED}'") == [(0,)]


# -- pending ---------------------------------------------------------------------------------------------------------

def test_pending_pages_together_are_provctl_pending(fleet):
    for i in range(3, 26):
        fleet.provctl("device", "add", f"000e08aa{i:04x}", "--group", "bulk" if i % 2 else "sales")
    expected = without_nulls(provctl_json(fleet, "pending"))
    assert len(expected) == 25
    client = fleet.client(role="viewer")
    items, after, pages = [], None, 0
    while True:
        answer = client.get("/api/v1/pending?limit=7" + (f"&after={after}" if after else ""))
        assert answer.status == 200, answer
        page = answer.json
        assert len(page["items"]) <= 7
        items += page["items"]
        pages += 1
        after = page.get("next_after")
        if after is None:
            break
    assert pages == 4
    assert without_nulls(items) == expected
    # Filters: a group, and a model.
    sales = client.get("/api/v1/pending?group=sales&limit=1000").json["items"]
    assert without_nulls(sales) == without_nulls(provctl_json(fleet, "pending", "--group", "sales"))
    model = client.get("/api/v1/pending?model=CP-7841-3PCC").json["items"]
    assert [entry["mac"] for entry in model] == [MAC2]


def test_pending_bad_input(fleet):
    client = fleet.client()
    assert_problem(client.get("/api/v1/pending?after=nope"), 400, "after", "mac_format")
    assert_problem(client.get("/api/v1/pending?limit=5000"), 400, "limit", "page_size")
    assert_problem(client.get("/api/v1/pending?limit=0"), 400, "limit", "page_size")


# -- history ---------------------------------------------------------------------------------------------------------

def test_history_pages_and_filters_as_provctl_history(fleet):
    client = fleet.client(role="viewer")
    expected = provctl_json(fleet, "history")
    first = client.get("/api/v1/history?limit=2").json
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["id"]
    rest = client.get(f"/api/v1/history?limit=1000&after={first['next_after']}").json
    assert rest.get("next_after") is None
    assert without_nulls(first["items"] + rest["items"]) == without_nulls(expected)
    about = client.get(f"/api/v1/history?target={MAC}").json["items"]
    assert without_nulls(about) == without_nulls(provctl_json(fleet, "history", MAC))
    scope = client.get("/api/v1/history?target=group:sales").json["items"]
    assert without_nulls(scope) == without_nulls(provctl_json(fleet, "history", "--scope", "group:sales"))
    assert client.get("/api/v1/history?who=nobody").json["items"] == []
    assert len(client.get("/api/v1/history?who=tester").json["items"]) == len(expected)


def test_history_secrets_are_masked(fleet):
    client = fleet.client()
    answer = client.get("/api/v1/history?limit=1000")
    assert PASSWORD.encode() not in answer.body and KEY.encode() not in answer.body
    for item in answer.json["items"]:
        one = client.get(f"/api/v1/history/{item['id']}")
        assert one.status == 200
        assert PASSWORD.encode() not in one.body and KEY.encode() not in one.body


def test_one_change_set_as_provctl_history_set(fleet):
    client = fleet.client(role="viewer")
    newest = client.get("/api/v1/history?limit=1").json["items"][0]
    answer = client.get(f"/api/v1/history/{newest['id']}")
    assert answer.status == 200
    assert without_nulls(answer.json) == without_nulls(provctl_json(fleet, "history", "--set", str(newest["id"])))
    assert all(entry["change_set"] == newest["id"] for entry in answer.json)


def test_history_bad_input(fleet):
    client = fleet.client()
    assert_problem(client.get("/api/v1/history/999999"), 404, "id")
    assert_problem(client.get("/api/v1/history?target=nowhere:x"), 400, "target", "mac_or_scope")
    assert_problem(client.get("/api/v1/history?after=0"), 400, "after", "minimum 1")
    assert_problem(client.get("/api/v1/history?limit=1001"), 400, "limit", "page_size")
    assert client.get("/api/v1/history/abc").status == 400


# -- revert ----------------------------------------------------------------------------------------------------------

def newest_set(daemon, client=None):
    return (client or daemon.client()).get("/api/v1/history?limit=1").json["items"][0]["id"]


def test_revert_as_provctl_revert(fleet, twin):
    target = newest_set(fleet)
    answer = fleet.client(user="carol").post(f"/api/v1/history/{target}/revert")
    assert answer.status == 200, answer
    body = answer.json
    assert body["result"] == "changed" and body["action"] == "revert" and body["reverted"] == [target]
    twin_result = provctl_json(twin, "revert", str(target))
    for key in ("ok", "action", "count", "message", "reverted"):
        assert body[key] == twin_result[key], key
    assert rows(fleet, SETTINGS) == rows(twin, SETTINGS)
    assert rows(fleet, "SELECT * FROM variables ORDER BY 1, 2, 3") == rows(twin, "SELECT * FROM variables ORDER BY 1, 2, 3")
    assert rows(fleet, f"SELECT count(*) FROM variables WHERE name = 'ext'") == [(0,)]
    entries = fleet.client().get(f"/api/v1/history/{body['change_set']}").json
    assert {entry["who"] for entry in entries} == {"api:carol"}


def test_revert_dry_run_and_conflict(fleet):
    client = fleet.client()
    # The group:sales setting, then changed again: reverting the first is a conflict.
    sets = client.get("/api/v1/history?target=group:sales").json["items"]
    first = sets[-1]["id"]
    fleet.provctl("set", "group:sales", "Resync_Periodic=900")
    before = rows(fleet, SETTINGS)
    dry = client.post(f"/api/v1/history/{newest_set(fleet)}/revert?dry_run=true")
    assert dry.status == 200, dry
    assert dry.json["result"] == "dry_run" and dry.json["devices_changed"] >= 1
    assert rows(fleet, SETTINGS) == before
    conflict = client.post(f"/api/v1/history/{first}/revert")
    assert conflict.status == 409, conflict
    assert conflict.header("content-type") == "application/problem+json"
    assert rows(fleet, SETTINGS) == before
    forced = client.post(f"/api/v1/history/{first}/revert?force=true")
    assert forced.status == 200, forced
    assert rows(fleet, "SELECT value FROM settings WHERE scope = 'group' AND name = 'Resync_Periodic'") == []


def test_revert_failures(fleet):
    client = fleet.client()
    assert_problem(client.post("/api/v1/history/999999/revert"), 404, "id")
    assert_problem(fleet.client(role="viewer").post(f"/api/v1/history/{newest_set(fleet)}/revert"), 403, "role")


# -- export ----------------------------------------------------------------------------------------------------------

def test_export_csv_and_json_as_provctl_export(fleet):
    client = fleet.client(role="viewer")
    answer = client.get("/api/v1/export")
    assert answer.status == 200, answer
    assert answer.header("content-type").startswith("text/csv")
    assert answer.body == provctl_export(fleet)
    table = list(csv.DictReader(io.StringIO(answer.body.decode())))
    assert [row["mac"] for row in table] == [MAC, MAC2]
    assert KEY not in answer.body.decode() and PASSWORD not in answer.body.decode()
    as_json = client.get("/api/v1/export", headers={"Accept": "application/json"})
    assert as_json.status == 200 and as_json.header("content-type").startswith("application/json")
    assert without_nulls(as_json.json) == without_nulls(provctl_json(fleet, "export"))
    assert as_json.json[0]["key"] == "***"
    group = client.get("/api/v1/export?group=support", headers={"Accept": "application/json"}).json
    assert [row["mac"] for row in group] == [MAC2]
    model = client.get("/api/v1/export?model=CP-8841-3PCC").body.decode()
    assert model.encode() == provctl_export(fleet, "--model", "CP-8841-3PCC")


def test_export_secrets_only_for_an_admin_who_asks(fleet):
    answer = fleet.client().get("/api/v1/export?with_secrets=true")
    assert answer.status == 200
    assert KEY in answer.body.decode() and PASSWORD in answer.body.decode()
    assert answer.body == provctl_export(fleet, "--show-secrets")
    assert_problem(fleet.client(role="viewer").get("/api/v1/export?with_secrets=true"), 403, "with_secrets")
    assert KEY not in fleet.client().get("/api/v1/export").body.decode()


# -- backup ----------------------------------------------------------------------------------------------------------

def test_backup_is_the_database_as_provctl_backup_copies_it(fleet):
    answer = fleet.client().get("/api/v1/backup")
    assert answer.status == 200, answer
    assert answer.header("content-type") == "application/vnd.sqlite3"
    assert answer.body.startswith(b"SQLite format 3\x00")
    folder = tempfile.mkdtemp(prefix="backup-")
    try:
        mine = os.path.join(folder, "api.db")
        with open(mine, "wb") as f:
            f.write(answer.body)
        theirs = os.path.join(folder, "provctl.db")
        fleet.provctl("backup", theirs, "--no-journal")
        for query in (DEVICES, SETTINGS, "SELECT * FROM audit ORDER BY id"):
            with sqlite3.connect(mine) as a, sqlite3.connect(theirs) as b:
                assert a.execute(query).fetchall() == b.execute(query).fetchall()
    finally:
        shutil.rmtree(folder)
    # Nothing of the copy is left in the temporary folder.
    assert not [name for name in os.listdir(tempfile.gettempdir()) if name.startswith("provisioner-backup-")]


def test_viewer_cannot_download_a_backup(fleet):
    answer = fleet.client(role="viewer").get("/api/v1/backup")
    assert_problem(answer, 403, "role")
    assert b"SQLite" not in answer.body


# -- check -----------------------------------------------------------------------------------------------------------

def test_check_as_provctl_check(fleet):
    fleet.provctl("set", f"device:{MAC}", "Profile_Rule={{nowhere}}", "--force", check=False)
    answer = fleet.client(role="viewer").get("/api/v1/check")
    assert answer.status == 200, answer
    report = answer.json
    expected = provctl_json(fleet, "check")
    assert without_nulls(report) == without_nulls(expected)
    assert report["devices"] == 2
    assert PASSWORD not in answer.body.decode()

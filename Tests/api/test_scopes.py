"""Settings and variables per scope through the API (issue 24): one ETag per scope's settings (and variables),
PUT/DELETE with If-Match, rules as 422 with field and rule, changes that break devices as 422 `breaks`, dry
runs, groups and models with counts, and parity with provctl on a twin database."""
from devices_support import provctl_json, twin  # noqa: F401 (twin: a fixture)

MAC = "000e08aabb01"


def scope_etag(client, scope="default", kind="settings"):
    answer = client.get(f"/api/v1/scopes/{scope}/{kind}")
    assert answer.status == 200, answer
    assert answer.header("etag")
    return answer.header("etag")


def test_put_setting_with_if_match_parity_with_provctl_set(daemon, twin):
    client = daemon.client()
    first = scope_etag(client)
    missing = client.put("/api/v1/scopes/default/settings/Resync_Periodic", body={"value": "3600"})
    assert missing.status == 428
    api = client.put("/api/v1/scopes/default/settings/Resync_Periodic", body={"value": "3600", "ua": "na"},
                     headers={"If-Match": first})
    assert api.status == 200, api
    assert api.json["result"] == "changed"
    cli = provctl_json(twin, "set", "default", "Resync_Periodic=3600", "--ua", "na")
    for member in ("ok", "action", "count", "message", "scope"):
        assert api.json[member] == cli[member], member
    assert api.header("etag") == scope_etag(client) != first
    listing = client.get("/api/v1/scopes/default/settings")
    assert listing.json == provctl_json(daemon, "settings", "default") == provctl_json(twin, "settings", "default")
    # The same write with the first ETag again: someone changed the scope since.
    stale = client.put("/api/v1/scopes/default/settings/Resync_Periodic", body={"value": "60"}, headers={"If-Match": first})
    assert stale.status == 412
    assert provctl_json(daemon, "settings", "default")[0]["value"] == "3600"
    history = provctl_json(daemon, "history")
    assert history[0]["who"] == "api:alice", history


def test_a_value_breaking_its_rule_is_422_with_field_and_rule(daemon):
    client = daemon.client()
    answer = client.put("/api/v1/scopes/default/settings/Resync_Periodic", body={"value": "soon"},
                        headers={"If-Match": scope_etag(client)})
    assert answer.status == 422, answer
    assert answer.header("content-type") == "application/problem+json"
    assert answer.json["field"] and answer.json["rule"]
    assert provctl_json(daemon, "settings", "default") == []


def test_a_change_that_stops_devices_rendering_is_422_breaks_unless_forced(daemon):
    client = daemon.client()
    daemon.provctl("device", "add", MAC)
    scope = f"device:{MAC}"
    body = {"value": "{{undefined_thing}}"}
    dry = client.put(f"/api/v1/scopes/{scope}/settings/Display_Name_1_?dry_run=true", body=body,
                     headers={"If-Match": scope_etag(client, scope)})
    assert dry.status == 422, dry
    assert dry.json["code"] == "breaks"
    refused = client.put(f"/api/v1/scopes/{scope}/settings/Display_Name_1_", body=body,
                         headers={"If-Match": scope_etag(client, scope)})
    assert refused.status == 422, refused
    assert refused.json["code"] == "breaks"
    assert [p["mac"] for p in refused.json["problems"]] == [MAC]
    assert provctl_json(daemon, "settings", scope) == []
    forced = client.put(f"/api/v1/scopes/{scope}/settings/Display_Name_1_?force=true", body=body,
                        headers={"If-Match": scope_etag(client, scope)})
    assert forced.status == 200, forced
    assert [s["name"] for s in provctl_json(daemon, "settings", scope)] == ["Display_Name_1_"]


def test_delete_setting_dry_run_then_written(daemon, twin):
    client = daemon.client()
    for d in (daemon, twin):
        d.provctl("set", "group:sales", "Resync_Periodic=600", "Display_Name_1_=Sales")
    tag = scope_etag(client, "group:sales")
    dry = client.delete("/api/v1/scopes/group:sales/settings/Display_Name_1_?dry_run=true", headers={"If-Match": tag})
    assert dry.status == 200 and dry.json["result"] == "dry_run"
    assert scope_etag(client, "group:sales") == tag
    api = client.delete("/api/v1/scopes/group:sales/settings/Display_Name_1_", headers={"If-Match": tag})
    assert api.status == 200, api
    cli = provctl_json(twin, "unset", "group:sales", "Display_Name_1_")
    for member in ("ok", "action", "count", "message", "scope"):
        assert api.json[member] == cli[member], member
    assert provctl_json(daemon, "settings", "group:sales") == provctl_json(twin, "settings", "group:sales")
    gone = client.delete("/api/v1/scopes/group:sales/settings/Display_Name_1_", headers={"If-Match": api.header("etag")})
    assert gone.status == 404


def test_variables_with_their_own_etag_and_secrets_masked(daemon, twin):
    client = daemon.client()
    settings_tag = scope_etag(client, "default", "settings")
    tag = scope_etag(client, "default", "variables")
    api = client.put("/api/v1/scopes/default/variables/sip_password", body={"value": "hunter2-secret"},
                     headers={"If-Match": tag})
    assert api.status == 200, api
    assert b"hunter2-secret" not in api.body
    cli = provctl_json(twin, "var", "default", "sip_password=hunter2-secret")
    for member in ("ok", "action", "count", "message", "scope"):
        assert api.json[member] == cli[member], member
    listing = client.get("/api/v1/scopes/default/variables")
    assert listing.json == [{"name": "sip_password", "scope": "default", "value": "***"}]
    assert listing.json == provctl_json(twin, "variables", "default")
    # Variables and settings are versioned apart.
    assert scope_etag(client, "default", "settings") == settings_tag
    assert client.put("/api/v1/scopes/default/variables/sip_password", body={"value": "x"}, headers={"If-Match": tag}).status == 412
    bad = client.put("/api/v1/scopes/default/variables/cert.ou", body={"value": "x"},
                     headers={"If-Match": listing.header("etag")})
    assert bad.status in (400, 422), bad
    removed = client.delete("/api/v1/scopes/default/variables/sip_password", headers={"If-Match": listing.header("etag")})
    assert removed.status == 200, removed
    assert client.get("/api/v1/scopes/default/variables").json == []


def test_unknown_device_scope_is_404_and_bad_scope_is_400(daemon):
    client = daemon.client()
    assert client.get("/api/v1/scopes/device:000e08aabb99/settings").status == 404
    assert client.get("/api/v1/scopes/planet:mars/settings").status == 400


def test_groups_and_models_with_counts_are_provctl_groups_and_models(daemon):
    client = daemon.client()
    daemon.provctl("device", "add", MAC, "--group", "sales", "--model", "CP-8841-3PCC")
    daemon.provctl("set", "group:sales", "Resync_Periodic=600")
    groups = client.get("/api/v1/groups")
    assert groups.status == 200
    assert groups.json == provctl_json(daemon, "groups")
    assert groups.json == [{"name": "sales", "devices": 1, "settings": 1, "variables": 0}]
    models = client.get("/api/v1/models")
    assert models.json == provctl_json(daemon, "models")


def test_catalogue_pages_searches_and_marks_secrets(daemon):
    client = daemon.client(role="viewer")
    found = client.get("/api/v1/catalogue?q=resync_periodic")
    assert found.status == 200, found
    assert "Resync_Periodic" in [e["name"] for e in found.json["items"]]
    secret = client.get("/api/v1/catalogue?q=Admin_Passwd").json["items"]
    assert secret and all(e["secret"] for e in secret)
    first = client.get("/api/v1/catalogue?limit=5")
    assert len(first.json["items"]) == 5 and first.json["next_after"] == first.json["items"][-1]["name"]
    second = client.get(f"/api/v1/catalogue?limit=5&after={first.json['next_after']}")
    assert second.json["items"][0]["name"] not in [e["name"] for e in first.json["items"]]
    spa = client.get("/api/v1/catalogue?model=spa&limit=50").json["items"]
    assert spa and all("spa" in e["models"] for e in spa)

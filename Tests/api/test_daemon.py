"""The daemon itself: the document it serves, who it lets in, problem details for what it cannot route."""
import os

from admind import ROOT


def test_serves_its_document_verbatim(daemon):
    answer = daemon.client(role="viewer").get("/api/openapi.yaml")
    assert answer.status == 200
    with open(os.path.join(ROOT, "api", "openapi.yaml"), "rb") as f:
        assert answer.body == f.read()


def test_no_user_is_401_problem(daemon):
    answer = daemon.client(user=None).get("/api/v1/groups")
    assert answer.status == 401
    assert answer.header("content-type") == "application/problem+json"
    assert answer.json["field"] == "X-Provisioner-User"


def test_unknown_role_is_403(daemon):
    answer = daemon.client(role="root").get("/api/v1/groups")
    assert answer.status == 403
    assert answer.json["field"] == "X-Provisioner-Role"


def test_viewer_may_not_write(daemon):
    answer = daemon.client(role="viewer").put("/api/v1/scopes/default/settings/Resync_Periodic",
                                              body={"value": "3600"}, headers={"If-Match": "*"})
    assert answer.status == 403
    assert answer.json["rule"] == "admin role required"
    assert daemon.provctl("settings", "default", json_output=True).stdout.count("Resync_Periodic") == 0


def test_body_over_the_limit_is_413(daemon):
    answer = daemon.client().post("/api/v1/import", body=b"x" * (16 * 1024 * 1024 + 1), content_type="text/csv")
    assert answer.status == 413
    assert answer.json["status"] == 413

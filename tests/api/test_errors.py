def test_malformed_json_is_a_400_not_a_500(db, anon):
    response = anon.post("/api/auth/register/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"]


def test_a_json_array_body_is_a_400(db, anon):
    response = anon.post("/api/auth/token/", data="[1,2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_an_unsupported_media_type_is_a_415(db, anon):
    response = anon.post("/api/auth/token/", data="username=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_unknown_api_path_is_a_json_404(db, client):
    response = client.get("/api/nowhere/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_wrong_method_is_a_405(db, anon):
    response = anon.get("/api/auth/token/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_bad_token_is_a_401(db, anon):
    anon.credentials(HTTP_AUTHORIZATION="Token nonsense")
    response = anon.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_schema_and_docs_are_served(db, client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_every_response_carries_a_request_id(db, client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"

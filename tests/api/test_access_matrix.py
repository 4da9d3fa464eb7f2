"""Each persona gets exactly what the contract allows on every endpoint, and never a 500."""

import pytest

NEW_USER = {"username": "m{n}", "password": "a-Long-pass-2026", "role": "room_manager"}

# (method, path, body) → status per persona: alice (donor), carl (self_preservation),
# sam (staff), rita (room_manager), adam (system_admin), anon (visitor).
MATRIX = [
    ("get", "/api/me/", None, dict(alice=200, carl=200, sam=200, rita=200, adam=200, anon=401)),
    ("patch", "/api/me/", {"email": "x@example.org"}, dict(alice=200, carl=200, sam=200, rita=200, adam=200, anon=401)),
    ("post", "/api/users/", NEW_USER, dict(alice=403, carl=403, sam=403, rita=403, adam=201, anon=401)),
    ("get", "/api/roles/", None, dict(alice=403, carl=403, sam=403, rita=403, adam=200, anon=401)),
    (
        "put",
        "/api/roles/self_preservation/permissions/",
        {"permissions": ["bookings.book"]},
        dict(alice=403, carl=403, sam=403, rita=403, adam=200, anon=401),
    ),
    ("post", "/api/auth/logout/", None, dict(alice=204, carl=204, sam=204, rita=204, adam=204, anon=401)),
    ("get", "/api/schema/", None, dict(alice=200, carl=200, sam=200, rita=200, adam=200, anon=200)),
    ("get", "/healthz", None, dict(alice=200, carl=200, sam=200, rita=200, adam=200, anon=200)),
]


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_access_matrix(people, client_for, method, path, body, expected, redis_url):
    for n, (persona, status) in enumerate(expected.items()):
        user = None if persona == "anon" else getattr(people, persona)
        client = client_for(user)
        data = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in body.items()} if body else None
        response = getattr(client, method)(path, data, format="json")
        assert response.status_code == status, (
            f"{persona} {method} {path}: {response.status_code} {response.content[:200]}"
        )


def test_registration_and_login_are_open_to_visitors(db, anon):
    body = {"username": "v1", "password": "a-Long-pass-2026", "phone": "13812345678"}
    assert anon.post("/api/auth/register/", body, format="json").status_code == 201
    assert (
        anon.post("/api/auth/token/", {"username": "v1", "password": body["password"]}, format="json").status_code
        == 200
    )

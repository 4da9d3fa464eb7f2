from clinic.audit.models import AuditEvent
from clinic.notifications.models import Notification
from clinic.outreach.models import Consultation


def test_a_visitor_asks_leaving_a_phone(db, anon):
    response = anon.post(
        "/api/consultations/", {"question": "How long does it take?", "contact": "138 1234 5678"}, format="json"
    )
    assert response.status_code == 201
    row = Consultation.objects.get()
    assert (row.asker, row.contact, row.question) == (None, "13812345678", "How long does it take?")
    assert "contact" not in response.json()


def test_a_visitor_must_leave_a_valid_phone(db, anon):
    assert anon.post("/api/consultations/", {"question": "Hi?"}, format="json").json()["code"] == "invalid"
    assert anon.post("/api/consultations/", {"question": "Hi?", "contact": "nope"}, format="json").status_code == 400
    assert (
        anon.post("/api/consultations/", {"question": "  ", "contact": "13812345678"}, format="json").status_code == 400
    )
    assert not Consultation.objects.exists()


def test_visitors_are_rate_limited_per_address(db, anon):
    for _ in range(10):
        assert (
            anon.post("/api/consultations/", {"question": "q", "contact": "13812345678"}, format="json").status_code
            == 201
        )
    response = anon.post("/api/consultations/", {"question": "q", "contact": "13812345678"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_questions"
    assert Consultation.objects.count() == 10


def test_a_donor_asks_sees_his_own_and_gets_the_answer_pushed(people, client_for):
    client = client_for(people.alice)
    response = client.post("/api/consultations/", {"question": "Can I come on Sunday?"}, format="json")
    assert response.status_code == 201
    client_for(people.bob).post("/api/consultations/", {"question": "Parking?"}, format="json")
    mine = client.get("/api/consultations/").json()
    assert [c["question"] for c in mine["results"]] == ["Can I come on Sunday?"]
    cid = mine["results"][0]["id"]
    answer = client_for(people.sam).post(f"/api/consultations/{cid}/answer/", {"answer": "Yes, 9-12."}, format="json")
    assert answer.status_code == 200
    row = Consultation.objects.get(pk=cid)
    assert row.answer == "Yes, 9-12." and row.answered_by == people.sam
    note = Notification.objects.get(recipient=people.alice, kind="consultation.answered")
    assert "Sunday" not in note.title and "Yes" not in note.title
    assert AuditEvent.objects.filter(action="consultation.answered", actor=people.sam).exists()
    assert client.get("/api/consultations/").json()["results"][0]["answer"] == "Yes, 9-12."


def test_staff_see_all_open_questions_and_answer_once(people, client_for, anon):
    anon.post("/api/consultations/", {"question": "Q1", "contact": "13812345678"}, format="json")
    client_for(people.alice).post("/api/consultations/", {"question": "Q2"}, format="json")
    staff = client_for(people.sam)
    listing = staff.get("/api/consultations/?open=1").json()
    assert listing["count"] == 2
    assert {c["contact"] for c in listing["results"]} == {"13812345678", ""}
    cid = listing["results"][0]["id"]
    assert staff.post(f"/api/consultations/{cid}/answer/", {"answer": "A"}, format="json").status_code == 200
    response = staff.post(f"/api/consultations/{cid}/answer/", {"answer": "B"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_answered"
    assert Consultation.objects.get(pk=cid).answer == "A"
    assert staff.post("/api/consultations/99999/answer/", {"answer": "A"}, format="json").status_code == 404


def test_only_staff_answer_and_visitors_cannot_list(people, client_for, anon):
    anon.post("/api/consultations/", {"question": "Q1", "contact": "13812345678"}, format="json")
    cid = Consultation.objects.get().pk
    for user in (people.alice, people.rita):
        assert (
            client_for(user).post(f"/api/consultations/{cid}/answer/", {"answer": "x"}, format="json").status_code
            == 403
        )
    assert anon.get("/api/consultations/").status_code == 401
    assert Consultation.objects.get().answer == ""


def test_a_forged_x_real_ip_does_not_escape_the_limit(db, anon, settings):
    settings.TRUST_X_REAL_IP = False
    for n in range(10):
        anon.post(
            "/api/consultations/",
            {"question": "q", "contact": "13812345678"},
            format="json",
            HTTP_X_REAL_IP=f"10.0.0.{n}",
        )
    response = anon.post(
        "/api/consultations/", {"question": "q", "contact": "13812345678"}, format="json", HTTP_X_REAL_IP="10.9.9.9"
    )
    assert response.status_code == 429


def test_behind_the_proxy_each_client_address_counts_apart(db, anon, settings):
    settings.TRUST_X_REAL_IP = True
    for _ in range(10):
        anon.post(
            "/api/consultations/", {"question": "q", "contact": "13812345678"}, format="json", HTTP_X_REAL_IP="10.0.0.1"
        )
    response = anon.post(
        "/api/consultations/", {"question": "q", "contact": "13812345678"}, format="json", HTTP_X_REAL_IP="10.0.0.2"
    )
    assert response.status_code == 201


def test_the_askers_phone_needs_identity_permission_too(people, client_for, anon):
    from django.contrib.auth.models import Permission

    anon.post("/api/consultations/", {"question": "Q1", "contact": "13812345678"}, format="json")
    people.rita.user_permissions.add(Permission.objects.get(codename="manage_promotions"))
    listing = client_for(people.rita).get("/api/consultations/").json()["results"]
    assert listing and "contact" not in listing[0] and "13812345678" not in str(listing)
    answer = client_for(people.rita).post(
        f"/api/consultations/{listing[0]['id']}/answer/", {"answer": "A"}, format="json"
    )
    assert answer.status_code == 200 and "13812345678" not in answer.content.decode()


def test_a_logged_in_user_s_questions_are_limited_too(people, client_for, settings):
    from tests.api.rates import deployed_rates, fresh_counters

    deployed_rates(settings, questions_user="3/hour")
    fresh_counters("questions_user", people.alice.pk, people.bob.pk)
    fresh_counters("questions_address", "127.0.0.1")
    alice = client_for(people.alice)
    for _ in range(3):
        assert alice.post("/api/consultations/", {"question": "q"}, format="json").status_code == 201
    refused = alice.post("/api/consultations/", {"question": "q"}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert Consultation.objects.filter(asker=people.alice).count() == 3
    assert client_for(people.bob).post("/api/consultations/", {"question": "q"}, format="json").status_code == 201
    assert alice.get("/api/consultations/").status_code == 200  # reading is not limited


def test_questions_from_one_address_are_limited_whoever_asks(people, client_for, settings):
    from tests.api.rates import deployed_rates, fresh_counters

    deployed_rates(settings, questions_address="4/hour")
    fresh_counters("questions_address", "127.0.0.1")
    fresh_counters("questions_user", *(p.pk for p in (people.alice, people.bob, people.carl)))
    clients = [client_for(p) for p in (people.alice, people.bob)] * 2
    for client in clients:
        assert client.post("/api/consultations/", {"question": "q"}, format="json").status_code == 201
    refused = client_for(people.carl).post("/api/consultations/", {"question": "q"}, format="json")
    assert refused.status_code == 429


def test_with_the_cache_down_questions_are_still_taken(people, client_for, settings):
    from tests.api.rates import deployed_rates

    deployed_rates(settings)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = client_for(people.alice).post("/api/consultations/", {"question": "q"}, format="json")
    assert response.status_code == 201

"""Schemathesis against the API's own OpenAPI document (/api/schema/), in process through the
WSGI application: every operation, as a visitor, a donor, staff, a room manager and a system
admin. No generated request may get a 5xx, and every documented answer must match its schema.

Each request runs in a savepoint that is rolled back, so every example meets the same world
(tests/security/world.py) and a failing example replays exactly. Generated path ids are mapped
onto real objects often enough to reach the code behind the 404s.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from clinic.accounts.models import AccessToken as Token
from tests.security import world as w

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP)

PERSONAS = ("anon", "alice", "sam", "rita", "adam")
# Per operation and persona: ~55 operations x 5 personas x 8 > 2,000 requests in ~40 s. A deeper,
# random search: FUZZ_EXAMPLES=50 FUZZ_RANDOM=1.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))


@pytest.fixture
def fuzz_world(people, request):
    # No generated room may make us talk to a host on the network: locks are fakes here.
    # (`settings` here is hypothesis'; pytest-django's fixture is fetched by name.)
    request.getfixturevalue("settings").DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    built = w.build(people)
    keys = {name: Token.objects.get_or_create(user=built.user(name))[0].key for name in PERSONAS if name != "anon"}
    # A WSGI request would close the test's connection at its end (CONN_MAX_AGE=0): the
    # Django test client does the same unhooking.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield built, keys
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def real_ids(world) -> dict[str, list]:
    """Ids of existing objects, by the path segment that names them."""
    from viewflow.workflow.models import Task

    from clinic.notifications.models import Notification

    return {
        "bookings": [b.pk for b in world.bookings.values()],
        "tasks": list(world.tasks.values()) + list(Task.objects.values_list("pk", flat=True)[:5]),
        "rooms": [room.pk for room in world.rooms],
        "openings": list(world.openings),
        "notifications": list(Notification.objects.values_list("pk", flat=True)[:6]),
        "consultations": list(world.consultations.values()),
        "payments": list(world.payments.values()),
        "fee-items": ["storage_yearly", "self_preservation_collection"],
        "roles": ["donor", "staff", "room_manager", "self_preservation", "system_admin"],
    }


def aim(case, ids: dict[str, list]) -> None:
    """Point two generated path ids out of three at real objects (deterministically)."""
    match = re.match(r"^/api/([\w-]+)/\{(\w+)\}", case.operation.path)
    if not match or not case.path_parameters:
        return
    segment, name = match.groups()
    value = case.path_parameters.get(name)
    known = ids.get(segment)
    if not known:
        return
    seed = value if isinstance(value, int) else len(str(value))
    if seed % 3 != 0:
        case.path_parameters[name] = known[seed % len(known)]


def fuzz_operation(operation, persona: str, world, keys, ids, examples: int, statuses: Counter) -> list[str]:
    """Send `examples` generated requests (valid and invalid ones) for one operation as one
    persona; returns what failed. `statuses` counts the answers."""
    headers = {"Authorization": f"Token {keys[persona]}"} if persona != "anon" else {}
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        phases=[Phase.generate],
        report_multiple_bugs=False,
    )
    def run(case):
        aim(case, ids)
        with transaction.atomic():
            if persona != "anon":  # an earlier example may have logged out: the token is put back
                Token.objects.get_or_create(user=world.user(persona), defaults={"key": keys[persona]})
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance], headers=headers)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # one report per operation and persona; the rest run
        return [f"{operation.label} as {persona}:\n{exc}"]
    return []


# On the embedded SQLite default too (make test runs the db_sensitive tests there): ids and
# values a PostgreSQL column takes can overflow SQLite's driver instead.
@pytest.mark.db_sensitive
def test_api_never_fails_and_answers_as_documented(fuzz_world):
    world, keys = fuzz_world
    ids = real_ids(world)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    statuses: Counter = Counter()
    failures = []
    for operation in operations:
        for persona in PERSONAS:
            failures += fuzz_operation(operation, persona, world, keys, ids, EXAMPLES, statuses)
    print(f"{sum(statuses.values())} requests to {len(operations)} operations: {dict(sorted(statuses.items()))}")
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
    assert sum(statuses.values()) >= 1000, statuses
    # The fuzzing got past the gates too: successes as well as refusals.
    assert statuses[200] + statuses[201] >= 100 and statuses[400] >= 100, statuses

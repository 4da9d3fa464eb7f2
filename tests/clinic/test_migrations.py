"""The migrations build the schema and grant every role its default permissions."""

import pytest
from django.contrib.auth.models import Group

from clinic.accounts.roles import DEFAULT_PERMISSIONS


@pytest.mark.db_sensitive
def test_every_role_holds_its_default_permissions(db):
    for role, names in DEFAULT_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == set(names), role

"""Hand-written reads for the few hot paths, with Django's value conversion: the door scan's lookups,
room_slot, a user's permissions (nearly every request) and the holders of a permission.

Building and compiling a queryset costs far more than running a small query (about 1 ms of
Python per query against 0.1 to 0.3 ms in PostgreSQL). Where that matters, a query is written
once as SQL and its rows are turned into model instances exactly as the ORM would: the same
per-backend converters (SQLite datetimes, booleans and JSON arrive as text or integers) and
`Model.from_db`, so fields not read are deferred, never silently left at their defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


class Columns:
    """Some concrete fields of one model under a table alias: the SELECT list, and the
    conversion of those columns of a row back into an instance."""

    def __init__(self, model: type[models.Model], alias: str, attnames: Sequence[str]) -> None:
        wanted = set(attnames)
        # Model.from_db takes a partial row in the order of the model's concrete fields.
        self.fields = [f for f in model._meta.concrete_fields if f.attname in wanted]
        missing = wanted - {f.attname for f in self.fields}
        if missing:
            raise ValueError(f"{model.__name__} has no concrete fields {sorted(missing)}")
        self.model = model
        self.alias = alias
        self.attnames = [f.attname for f in self.fields]

    def __len__(self) -> int:
        return len(self.fields)

    def sql(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def table(self) -> str:
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def instance(self, values: Sequence[Any]) -> models.Model:
        converted = []
        for field, value in zip(self.fields, values, strict=True):
            if value is not None:
                column = field.get_col(self.alias)
                for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
                    value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.attnames, converted)

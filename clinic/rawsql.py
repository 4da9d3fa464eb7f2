"""Hand-written reads for the door scan's way to the relay, with Django's value conversion.

The one shortcut kept for a figure (bench/scan.py): a scan reaches the relay after three reads
(the person's booking behind the door, the room's slot, the due step of the process). Built as
querysets they cost 3.3 ms more Python per scan (1.0-1.3 ms each to build and compile, against
0.3-0.4 ms for the same SQL), and scan -> coil ON went from 1.5-2.0x an empty authenticated
request (GET /api/me/) to 2.1-2.5x, past the 2x it must stay within. Every other query of the
platform is the ORM's.

Each query is written once as SQL and its rows turned into model instances exactly as the ORM
would: the same per-backend converters (SQLite datetimes, booleans and JSON arrive as text or
integers) and `Model.from_db`, so fields not read are deferred, never silently left at their
defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


class Columns(Generic[M]):
    """Some concrete fields of one model under a table alias: the SELECT list, and the
    conversion of those columns of a row back into an instance."""

    def __init__(self, model: type[M], alias: str, attnames: Sequence[str]) -> None:
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

    def instance(self, values: Sequence[Any]) -> M:
        converted = []
        for field, value in zip(self.fields, values, strict=True):
            if value is not None:
                column = field.get_col(self.alias)
                for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
                    value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.attnames, converted)

"""Path converters of the API's URLs."""

from __future__ import annotations

from api.serializers.fields import MAX_ID


class IdConverter:
    """A row's id in a path: 1 to 2^63-1. A larger number matches no route (a 404), instead of
    reaching a query the database cannot run."""

    regex = "[0-9]{1,20}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(value)  # Django: this route does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)

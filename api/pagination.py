"""Page lists as {count, next, previous, results}."""

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def page_items(self, queryset: Any, request: Request, view: APIView) -> list[Any]:
        """The requested page's items (a page size is always set, so there always is one)."""
        return self.paginate_queryset(queryset, request, view=view) or []


def paginated(item: serializers.Serializer, name: str) -> serializers.Serializer:
    """The documented shape of a page of `item`s (for extend_schema's responses)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )

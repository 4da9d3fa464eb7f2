"""Top-level routes: API, health, admin, pages."""

from django.contrib import admin
from django.urls import include, path

from api.views.health import healthz

handler404 = "api.errors.json_404"
handler500 = "api.errors.json_500"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", include(("api.urls", "api"), namespace="api")),
    path("admin/", admin.site.urls),
]

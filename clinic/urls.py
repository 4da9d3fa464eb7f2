"""Top-level routes: API, health, admin, pages."""

from django.contrib import admin
from django.urls import include, path
from viewflow.contrib.auth import AuthViewset

from api.views.health import healthz
from workflows.viewsets import site

handler400 = "api.errors.json_400"
handler404 = "api.errors.json_404"
handler500 = "api.errors.json_500"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", include(("api.urls", "api"), namespace="api")),
    path("admin/", admin.site.urls),
    # Viewflow's own login and logout pages only (the inbox links to them); its password change,
    # password reset and profile pages are off: passwords change through PATCH /api/me/.
    path("accounts/", AuthViewset(allow_password_change=False, with_profile_view=False).urls),
    path("workflow/", site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("api.pages.urls")),
]

from django.contrib import admin
from django.urls import include, path

from config.health import healthz

api_v1 = [
    path("tenants/", include("tenants.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("generation.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
]

handler404 = "config.errors.json_not_found"

from django.contrib import admin
from django.urls import include, path

from assets.views import file_download
from config.health import healthz

api_v1 = [
    path("tenants/", include("tenants.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("generation.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("assets.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("billing.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("files/<str:token>", file_download, name="file-download"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
]

handler404 = "config.errors.json_not_found"

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from assets.views import file_download
from config.health import healthz
from config.metrics import metrics_view

api_v1 = [
    path("tenants/", include("tenants.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("generation.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("assets.api.urls")),
    path("tenants/<slug:tenant_slug>/", include("billing.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus, for ATELIER_METRICS_TOKEN's bearer only
    path("files/<str:token>", file_download, name="file-download"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("v1/", include("generation.openai_api.urls")),  # OpenAI-compatible: the API key names the tenant
    path("api-auth/", include("rest_framework.urls")),
    # The OpenAPI description, and two readers of it served from our static files (no CDN).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
    path("", include("web.urls")),  # the studio: server-rendered pages
]

handler400 = "config.errors.json_bad_request"
handler404 = "config.errors.json_not_found"
handler500 = "config.errors.json_server_error"

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .views import ApiKeyViewSet, MembershipViewSet, TenantDetailView, TenantListView
from .webhooks import WebhookViewSet

tenant_router = SimpleRouter()
tenant_router.register("members", MembershipViewSet, basename="member")
tenant_router.register("api-keys", ApiKeyViewSet, basename="api-key")
tenant_router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("", TenantListView.as_view({"get": "list"}), name="tenant-list"),
    path(
        "<slug:tenant_slug>/",
        TenantDetailView.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="tenant-detail",
    ),
    path("<slug:tenant_slug>/", include(tenant_router.urls)),
]

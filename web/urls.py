"""The studio's pages. Account pages sit at the top; everything about a tenant sits under
/t/{slug}/, each area's routes in its own module of web/views."""

from django.urls import include, path

from .views import account, assets, compose, costs, home, projects, provenance, review, settings

app_name = "web"

tenant_pages = [
    *home.urlpatterns,
    *projects.urlpatterns,
    *compose.urlpatterns,
    *assets.urlpatterns,
    *review.urlpatterns,
    *costs.urlpatterns,
    *provenance.urlpatterns,
    *settings.urlpatterns,
]

urlpatterns = [
    *account.urlpatterns,
    path("t/<slug:tenant_slug>/", include(tenant_pages)),
]

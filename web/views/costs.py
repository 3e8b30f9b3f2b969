"""Placeholder: this area's pages are being built."""

from django.urls import path

from .base import TenantPage


class Placeholder(TenantPage):
    template_name = "web/home.html"


urlpatterns = [
    path("costs/", Placeholder.as_view(), name="costs"),
]

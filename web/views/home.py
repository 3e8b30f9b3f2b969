"""Home: the month's budget, jobs running, assets waiting for my review, recent spend."""

from django.urls import path

from .base import TenantPage


class HomePage(TenantPage):
    template_name = "web/home.html"
    nav = "home"


urlpatterns = [
    path("", HomePage.as_view(), name="home"),
]

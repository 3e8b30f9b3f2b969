"""The download route alone, for tests that need it before config/urls.py includes it."""

from django.urls import path

from assets.views import file_download

urlpatterns = [path("files/<str:token>", file_download, name="file-download")]

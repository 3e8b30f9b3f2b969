from django.urls import path, re_path

from . import views
from .errors import not_found

urlpatterns = [
    path("models", views.ModelListView.as_view(), name="openai-models"),
    path("models/<str:model_id>", views.ModelDetailView.as_view(), name="openai-model"),
    path("images/generations", views.ImagesView.as_view(), name="openai-image-generations"),
    path("images/edits", views.ImageEditsView.as_view(), name="openai-image-edits"),
    path("images/variations", views.ImageVariationsView.as_view(), name="openai-image-variations"),
    path("images/files/<str:token>", views.image_file, name="openai-image-file"),
    re_path(r"^.*$", not_found),  # OpenAI's error envelope for any other /v1/ path
]

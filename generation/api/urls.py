from rest_framework.routers import SimpleRouter

from .jobs import JobViewSet
from .views import BedrockModelViewSet

router = SimpleRouter()
router.register("models", BedrockModelViewSet, basename="bedrock-model")
router.register("jobs", JobViewSet, basename="job")

urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from .views import BedrockModelViewSet

router = SimpleRouter()
router.register("models", BedrockModelViewSet, basename="bedrock-model")

urlpatterns = router.urls

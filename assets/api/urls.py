from rest_framework.routers import SimpleRouter

from .projects import ProjectViewSet, PromptViewSet, SeedViewSet
from .provenance import ProvenanceCheckViewSet
from .views import AssetViewSet, ReviewViewSet

router = SimpleRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("provenance-checks", ProvenanceCheckViewSet, basename="provenance-check")
router.register("projects", ProjectViewSet, basename="project")
router.register("prompts", PromptViewSet, basename="prompt")
router.register("seeds", SeedViewSet, basename="seed")
router.register("reviews", ReviewViewSet, basename="review")

urlpatterns = router.urls

from django.urls import path
from rest_framework.routers import SimpleRouter

from .budgets import BudgetViewSet
from .views import EstimateView

router = SimpleRouter()
router.register("budgets", BudgetViewSet, basename="budget")

urlpatterns = [path("estimate/", EstimateView.as_view(), name="estimate"), *router.urls]

from django.urls import path
from rest_framework.routers import SimpleRouter

from .budgets import BudgetViewSet
from .reports import LedgerViewSet, SpendCsvView, SpendView
from .views import EstimateView

router = SimpleRouter()
router.register("budgets", BudgetViewSet, basename="budget")
router.register("ledger", LedgerViewSet, basename="ledger")

urlpatterns = [
    path("estimate/", EstimateView.as_view(), name="estimate"),
    path("spend/", SpendView.as_view(), name="spend"),
    path("spend.csv", SpendCsvView.as_view(), name="spend-csv"),
    *router.urls,
]

from rest_framework import views
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from generation.api.jobs import job_body, job_request_arguments
from generation.services import job_quote
from tenants.api.base import TenantContextMixin
from tenants.permissions import CanView


class EstimateView(TenantContextMixin, views.APIView):
    """POST a job body: what it would cost, without creating or reserving anything."""

    permission_classes = [IsAuthenticated, CanView]

    def post(self, request, tenant_slug):
        quote = job_quote(tenant=self.tenant, **job_request_arguments(job_body(request.data, model_required=False)))
        return Response(quote.as_dict())

from rest_framework import views
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from generation.api.jobs import image_request_fields, job_body
from generation.services import job_quote
from tenants.api.base import TenantContextMixin
from tenants.permissions import CanView


class EstimateView(TenantContextMixin, views.APIView):
    """POST a job body: what it would cost, without creating or reserving anything."""

    permission_classes = [IsAuthenticated, CanView]

    def post(self, request, tenant_slug):
        body = job_body(request.data)
        quote = job_quote(
            tenant=self.tenant,
            model_id=body["model"],
            raw=image_request_fields(body),
            source_asset_id=body.get("source_asset"),
        )
        return Response(quote.as_dict())

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, views
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from generation.api.jobs import JobRequestSerializer, job_body, job_request_arguments
from generation.services import job_quote
from tenants.api.base import TenantContextMixin
from tenants.permissions import CanView


class QuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=6, help_text="Per image.")
    n = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=18, decimal_places=6)
    price_id = serializers.IntegerField(help_text="The price book row that applies.")
    width = serializers.IntegerField(help_text="Each image's width: what the price goes by (an upscale's output).")
    height = serializers.IntegerField(help_text="Each image's height.")


class EstimateView(TenantContextMixin, views.APIView):
    """POST a job body: what it would cost, without creating or reserving anything."""

    permission_classes = [IsAuthenticated, CanView]

    @extend_schema(request=JobRequestSerializer, responses=QuoteSerializer)
    def post(self, request, tenant_slug):
        quote = job_quote(tenant=self.tenant, **job_request_arguments(job_body(request.data, model_required=False)))
        return Response(quote.as_dict())

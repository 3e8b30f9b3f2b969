"""Webhooks over REST, for the tenant's admins: endpoints, their deliveries, replays and pings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from config.openapi import error_responses
from config.pagination import CursorPage
from config.serializers import InputSerializer
from tenants import webhooks
from tenants.models import WebhookDelivery, WebhookEndpoint
from tenants.permissions import CanAdminister

from .base import UUID_PATTERN, PublicUuidLookup, TenantScopedViewSet
from .idempotency import idempotent

DELIVERY_ID = rf"(?P<delivery_id>{UUID_PATTERN})"
DELIVERY_ID_PARAMETER = OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
INACTIVE = error_responses(409, descriptions={409: "`webhook_inactive`: activate the webhook first."})


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None, allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "active", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, allow_null=True,
        help_text="Signs every delivery; shown in this answer only (null when an Idempotency-Key replays it).",
    )  # fmt: skip

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointUpdateInput(InputSerializer):
    url = serializers.CharField(max_length=2000, required=False, help_text="http or https, to a public address.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices),
                                   allow_empty=False, required=False)  # fmt: skip
    description = serializers.CharField(max_length=200, allow_blank=True, required=False)
    active = serializers.BooleanField(required=False)


class WebhookEndpointCreateInput(WebhookEndpointUpdateInput):
    url = serializers.CharField(max_length=2000, help_text="http or https, to a public address.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices),
                                   allow_empty=False)  # fmt: skip
    secret = serializers.CharField(max_length=200, required=False, write_only=True,
                                   help_text="At least 16 characters; left out, a strong one is made.")  # fmt: skip


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.UUIDField(source="endpoint.uuid", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "webhook", "event", "event_id", "status", "attempts", "response_code", "response_body",
            "last_error", "next_attempt_at", "delivered_at", "replay_of", "created_at", "payload",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliveryFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    event = serializers.CharField(max_length=64, required=False)


class WebhookViewSet(PublicUuidLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Admins only, reads included: a webhook's URL and deliveries say where the tenant's data goes."""

    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    action_permissions = {action: CanAdminister for action in ("list", "retrieve", "deliveries", "delivery")}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("created_at", "pk")

    @extend_schema(request=WebhookEndpointCreateInput, responses={201: WebhookEndpointCreatedSerializer})
    @idempotent(redact=("secret",))  # the secret is never stored there: a replay answers it as null
    def create(self, request, tenant_slug):
        data = WebhookEndpointCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = webhooks.webhook_endpoint_create(tenant=self.tenant, actor=self.actor, **data.validated_data)
        body = {**WebhookEndpointSerializer(created.endpoint).data, "secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointUpdateInput, responses={200: WebhookEndpointSerializer})
    def partial_update(self, request, tenant_slug, pk):
        data = WebhookEndpointUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_update(endpoint=self.get_object(), actor=self.actor, **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, tenant_slug, pk):
        webhooks.webhook_endpoint_delete(endpoint=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[WebhookDeliveryFilter],
        responses={200: WebhookDeliverySerializer(many=True), **error_responses(400)},
    )
    @action(detail=True, methods=["get"], pagination_class=CursorPage)
    def deliveries(self, request, tenant_slug, pk):
        """The endpoint's deliveries, newest first; filters `status` and `event`."""
        filters = WebhookDeliveryFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = webhooks.webhook_delivery_list(endpoint=self.get_object(), **filters.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(parameters=[DELIVERY_ID_PARAMETER], responses={200: WebhookDeliverySerializer})
    @action(detail=True, methods=["get"], url_path=f"deliveries/{DELIVERY_ID}")
    def delivery(self, request, tenant_slug, pk, delivery_id):
        return Response(WebhookDeliverySerializer(self._delivery(delivery_id)).data)

    @extend_schema(
        parameters=[DELIVERY_ID_PARAMETER], request=None,
        responses={202: OpenApiResponse(WebhookDeliverySerializer, "The new delivery."), **INACTIVE},
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path=f"deliveries/{DELIVERY_ID}/replay")
    @idempotent
    def replay(self, request, tenant_slug, pk, delivery_id):
        """Send a delivery's payload again, as a new delivery; 409 when the webhook is inactive."""
        replay = webhooks.webhook_delivery_replay(delivery=self._delivery(delivery_id), actor=self.actor)
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None, responses={202: OpenApiResponse(WebhookDeliverySerializer, "The ping's delivery."), **INACTIVE}
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def ping(self, request, tenant_slug, pk):
        """Send a `ping` event to this endpoint to test the receiver; 409 when the webhook is inactive."""
        delivery = webhooks.webhook_endpoint_ping(endpoint=self.get_object(), actor=self.actor)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    def _delivery(self, delivery_id) -> WebhookDelivery:
        delivery = webhooks.webhook_delivery_get(endpoint=self.get_object(), delivery_id=delivery_id)
        if delivery is None:
            raise NotFound()
        return delivery

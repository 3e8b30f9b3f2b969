"""Provenance checks over REST: any member asks where an image came from — an upload (multipart `image`, or
base64 in JSON) or one of the tenant's assets (`{"asset": id}`) — and reads earlier answers."""

import uuid

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from assets.models import Asset, ProvenanceCheck
from assets.provenance.checks import NO_SUCH_ASSET, provenance_check_run
from config.errors import ApplicationError
from config.openapi import error_responses
from config.pagination import CursorPage
from config.parsers import JSONBodyParser
from config.serializers import unknown_fields_check
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES
from tenants.api.base import TenantScopedViewSet
from tenants.api.idempotency import idempotent
from tenants.permissions import CanView


class ProvenanceCheckSerializer(serializers.ModelSerializer):
    asset = serializers.UUIDField(source="asset_id", allow_null=True)
    input_asset = serializers.UUIDField(source="input_asset_id", allow_null=True)
    lineage = serializers.SerializerMethodField()

    class Meta:
        model = ProvenanceCheck
        fields = ["id", "verdict", "asset", "lineage", "detectors", "input_sha256", "input_asset", "created_at"]
        read_only_fields = fields

    @extend_schema_field(
        inline_serializer(
            "ProvenanceLineage",
            {
                "parents": serializers.ListField(child=serializers.UUIDField()),
                "children": serializers.ListField(child=serializers.UUIDField()),
            },
            allow_null=True,
        )
    )
    def get_lineage(self, check) -> dict | None:
        """The traced asset's direct lineage, as it is now: the assets it was made from and those made from it."""
        if check.asset is None:
            return None
        same_tenant = check.asset.tenant_id
        return {
            "parents": [str(parent.pk) for parent in check.asset.parents.all() if parent.tenant_id == same_tenant],
            "children": [str(child.pk) for child in check.asset.children.all() if child.tenant_id == same_tenant],
        }


def _asset_of(tenant, value) -> Asset:
    """The tenant's asset with this id; anything else — malformed, missing, another tenant's — is the same 400."""
    try:
        asset_id = uuid.UUID(str(value))
    except ValueError:
        asset_id = None
    asset = Asset.objects.for_tenant(tenant).filter(pk=asset_id).first() if asset_id else None
    if asset is None:
        raise ApplicationError("invalid", f"asset: {NO_SUCH_ASSET}", fields={"asset": [NO_SUCH_ASSET]})
    return asset


def _image_of(request) -> bytes | str | None:
    upload = request.FILES.get("image")
    if upload is not None:
        if upload.size > MAX_INPUT_IMAGE_BYTES:  # refused before a byte of it is read into memory
            message = f"The image is {upload.size:,} bytes; the most is {MAX_INPUT_IMAGE_BYTES:,} (5 MB)."
            raise ApplicationError("invalid", f"image: {message}", fields={"image": [message]})
        return upload.read()
    value = request.data.get("image")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        message = "Must be an uploaded file, or a base64 string."
        raise ApplicationError("invalid", f"image: {message}", fields={"image": [message]})
    return value


class ProvenanceCheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Checks, newest first; any member may run one (it costs nothing and changes no asset)."""

    model = ProvenanceCheck
    serializer_class = ProvenanceCheckSerializer
    pagination_class = CursorPage
    cursor_ordering = ("-created_at", "pk")
    parser_classes = [JSONBodyParser, MultiPartParser]
    action_permissions = {"create": CanView}

    def safely_get_queryset(self, queryset):
        return (
            queryset.select_related("asset")
            .prefetch_related("asset__parents", "asset__children")
            .order_by("-created_at", "pk")
        )

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ProvenanceCheckUpload",
                {
                    "image": serializers.ImageField(required=False, help_text="PNG, JPEG or WebP, at most 5 MB."),
                    "asset": serializers.UUIDField(required=False, help_text="Or one of the tenant's assets."),
                },
            ),
            "application/json": inline_serializer(
                "ProvenanceCheckRequest",
                {
                    "image": serializers.CharField(required=False, help_text="Base64 (or a `data:` URL)."),
                    "asset": serializers.UUIDField(required=False, help_text="Or one of the tenant's assets."),
                },
            ),
        },
        responses={
            201: ProvenanceCheckSerializer,
            **error_responses(503, descriptions={503: "The asset's file cannot be read right now: try again."}),
        },
    )
    @idempotent
    def create(self, request, tenant_slug):
        if not hasattr(request.data, "get"):
            raise ApplicationError("invalid", "Send an object: a multipart form or JSON.")
        unknown_fields_check(request.data, {"image", "asset"})
        asset_id = request.data.get("asset")
        asset = _asset_of(self.tenant, asset_id) if asset_id not in (None, "") else None
        check = provenance_check_run(tenant=self.tenant, actor=self.actor, data=_image_of(request), asset=asset)
        return Response(ProvenanceCheckSerializer(check).data, status=status.HTTP_201_CREATED)

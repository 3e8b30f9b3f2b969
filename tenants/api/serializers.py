from rest_framework import serializers

from config.serializers import InputSerializer
from tenants.models import ApiKey, Membership, Role, Tenant


class TenantSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="The caller's role in this tenant.")

    class Meta:
        model = Tenant
        fields = ["slug", "name", "four_eyes_approval", "timezone", "created_at", "role"]
        read_only_fields = fields

    def get_role(self, tenant: Tenant) -> str | None:
        return self.context.get("roles", {}).get(tenant.pk)


class TenantUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    four_eyes_approval = serializers.BooleanField(required=False)
    timezone = serializers.CharField(max_length=64, required=False)


class MembershipSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at", "updated_at"]
        read_only_fields = fields

    def get_name(self, membership: Membership) -> str:
        return membership.user.get_full_name()


class MembershipCreateSerializer(InputSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None, allow_null=True)
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "role",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_active",
            "default_project",
        ]
        read_only_fields = fields

    def get_is_active(self, api_key: ApiKey) -> bool:
        return api_key.is_usable()


class ApiKeyCreatedSerializer(ApiKeySerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The key itself, shown in this answer only (null when an Idempotency-Key replays it: revoke and "
        "create another if it was lost).",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ApiKeyCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.CREATOR)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    default_project = serializers.UUIDField(
        required=False, allow_null=True, help_text="Where its OpenAI-compatible calls work when they name no project."
    )

    def validate_default_project(self, value):
        from assets.models import Project

        if value is None:
            return None
        project = Project.objects.for_tenant(self.context["tenant"]).filter(pk=value).first()
        if project is None:
            raise serializers.ValidationError("No such project.")
        return project

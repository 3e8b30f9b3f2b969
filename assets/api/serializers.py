from rest_framework import serializers

from assets import storage
from assets.models import Asset, Review


def with_serialized_relations(queryset):
    """Asset rows with everything AssetSerializer reads of them, so a list of any length costs the same queries."""
    return queryset.select_related("tenant", "job__model", "created_by").prefetch_related("parents")


class AssetSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job_id", allow_null=True)
    project = serializers.UUIDField(source="project_id")
    parents = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    prompt = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = [
            "id", "kind", "status", "review_stage", "title", "tags", "project", "job", "model", "prompt", "index",
            "width", "height", "format", "bytes", "sha256", "phash", "seed", "parents", "created_by", "provenance",
            "download_url", "thumbnail_url", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model(self, asset) -> str | None:
        return asset.job.model.model_id if asset.job_id else None

    def get_prompt(self, asset) -> str:
        return asset.job.params.get("prompt", "") if asset.job_id else ""

    def get_created_by(self, asset) -> str | None:
        return asset.created_by.email if asset.created_by_id else None

    def get_parents(self, asset) -> list[str]:
        return [str(parent.pk) for parent in asset.parents.all()]

    def get_download_url(self, asset) -> str:
        filename = f"{asset.id}.{asset.format}"
        return self._absolute(storage.download_url(tenant=asset.tenant, key=asset.file_key, filename=filename))

    def get_thumbnail_url(self, asset) -> str | None:
        if not asset.thumbnail_key:
            return None
        return self._absolute(storage.download_url(tenant=asset.tenant, key=asset.thumbnail_key))

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None and url.startswith("/") else url


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "asset", "decision", "stage", "stage_name", "comment", "reviewer", "at"]
        read_only_fields = fields

    def get_reviewer(self, review) -> str | None:
        if review.reviewer_id:
            return review.reviewer.email
        return f"API key {review.reviewer_key.name}" if review.reviewer_key_id else None

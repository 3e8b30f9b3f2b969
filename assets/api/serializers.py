from rest_framework import serializers

from assets import storage
from assets.models import Asset


class AssetSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job_id", allow_null=True)
    project = serializers.UUIDField(source="project_id")
    parents = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = [
            "id", "kind", "project", "job", "index", "width", "height", "format", "bytes", "sha256", "seed",
            "parents", "download_url", "thumbnail_url", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_parents(self, asset) -> list[str]:
        return [str(pk) for pk in asset.parents.values_list("pk", flat=True)]

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

from rest_framework import serializers

from generation.catalog import model_warnings
from generation.models import BedrockModel


class BedrockModelSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="model_id")
    lifecycle = serializers.SerializerMethodField()
    successor = serializers.CharField(source="successor.model_id", default=None, allow_null=True)
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = BedrockModel
        fields = [
            "id",
            "name",
            "family",
            "task_types",
            "size_rule",
            "max_images_per_call",
            "qualities",
            "prompt_max_chars",
            "negative_max_chars",
            "seed_max",
            "styles",
            "supports_conditioning",
            "output_formats",
            "lifecycle",
            "legacy_since",
            "end_of_life_on",
            "successor",
            "warnings",
        ]
        read_only_fields = fields

    def get_lifecycle(self, model: BedrockModel) -> str:
        return model.lifecycle()

    def get_warnings(self, model: BedrockModel) -> list[str]:
        return model_warnings(model)

from rest_framework import serializers

from generation.catalog import model_warnings
from generation.models import BedrockModel


class BedrockModelSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="model_id")
    lifecycle = serializers.SerializerMethodField()
    successor = serializers.CharField(source="successor.model_id", default=None, allow_null=True)
    warnings = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField(
        help_text="A Stability image service's own fields: name, kind, whether required, limits, default."
    )
    output_rule = serializers.SerializerMethodField(help_text="How an image service's output size follows its input.")

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
            "params",
            "output_rule",
            "lifecycle",
            "legacy_since",
            "extended_access_from",
            "end_of_life_on",
            "successor",
            "warnings",
        ]
        read_only_fields = fields

    def get_lifecycle(self, model: BedrockModel) -> str:
        return model.lifecycle()

    def get_warnings(self, model: BedrockModel) -> list[str]:
        return model_warnings(model)

    def get_params(self, model: BedrockModel) -> list[dict]:
        return [param.as_dict() for param in model.spec().params]

    def get_output_rule(self, model: BedrockModel) -> str | None:
        return model.spec().output_rule or None

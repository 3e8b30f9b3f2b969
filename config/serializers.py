"""The base of every API input serializer: a field the endpoint does not take is a 400 naming it, not silently
dropped (a misspelt `four_eyes_aproval` would otherwise answer 200 and change nothing)."""

from collections.abc import Iterable, Mapping

from rest_framework import serializers

from config.errors import ApplicationError

UNKNOWN_FIELD = "This field is not accepted here."


def unknown_fields_check(body: Mapping, known: Iterable[str]) -> None:
    """400 naming every key of `body` that is not in `known`."""
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApplicationError(
            "invalid", f"{unknown[0]}: {UNKNOWN_FIELD}", fields={name: [UNKNOWN_FIELD] for name in unknown}
        )


class InputSerializer(serializers.Serializer):
    """A request body's fields: only the writable ones declared here may be sent."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown_fields_check(data, (name for name, field in self.fields.items() if not field.read_only))
        return super().to_internal_value(data)

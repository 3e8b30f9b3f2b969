"""Small template helpers for the studio's pages."""

from decimal import Decimal

from django import template
from django.utils.html import format_html

from tenants.models import Role

register = template.Library()


@register.filter
def at_least(role: str | None, minimum: str) -> bool:
    """{% if role|at_least:"approver" %}: the person's role is this one or higher."""
    return Role.at_least(role, minimum)


@register.filter
def usd(amount) -> str:
    """Money as people read it: $1,234.56; sub-cent amounts keep their digits ($0.0040)."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    if value and abs(value) < Decimal("0.01"):
        return f"${value:,.4f}"
    return f"${value:,.2f}"


@register.filter
def get_item(mapping, key):
    """{{ errors|get_item:"prompt" }}: a dict's value by a name held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def image_url(asset) -> str:
    """{{ asset|image_url }}: a signed link to the full image, shown inline."""
    from assets import storage

    return storage.download_url(tenant=asset.tenant, key=asset.file_key)


@register.filter
def download_url(asset) -> str:
    """{{ asset|download_url }}: a signed link that downloads the image under its asset id."""
    from assets import storage

    return storage.download_url(tenant=asset.tenant, key=asset.file_key, filename=f"{asset.id}.{asset.format}")


@register.filter
def thumbnail_url(asset) -> str:
    """{{ asset|thumbnail_url }}: the 256-pixel thumbnail, or the image itself when it has none."""
    from assets import storage

    return storage.download_url(tenant=asset.tenant, key=asset.thumbnail_key or asset.file_key)


@register.simple_tag
def form_token():
    """{% form_token %} in a form that spends or creates: a fresh token each time the form is drawn, so
    the same drawn form sent twice (a double click, Back, a reload) makes one thing (web.views.base)."""
    from web.views.base import FORM_TOKEN, new_form_token

    return format_html('<input type="hidden" name="{}" value="{}">', FORM_TOKEN, new_form_token())

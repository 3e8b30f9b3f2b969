"""Small template helpers for the studio's pages."""

from decimal import Decimal

from django import template

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

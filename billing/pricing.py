"""What images cost: the quote a job is given before it runs, and the charge for what it made."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.errors import ApplicationError
from tenants.models import Tenant

from .models import Price
from .money import USD_QUANTUM


@dataclass(frozen=True)
class Quote:
    unit_price: Decimal
    n: int
    total: Decimal
    price: Price
    width: int = 0  # the size of each image: what the price went by
    height: int = 0
    currency: str = "USD"

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "unit_price": f"{self.unit_price:.6f}",
            "n": self.n,
            "total": f"{self.total:.6f}",
            "price_id": self.price.pk,
            "width": self.width,
            "height": self.height,
        }


def price_quote(
    *, model, width: int, height: int, quality: str, n: int, at: datetime | None = None, tenant: Tenant | None = None
) -> Quote:
    """The price of n images of width×height at `quality` on `model`, as of `at`: for each tier the
    row in effect then (a tenant's negotiated row over the list price), and of the tiers the image
    fits, the tightest."""
    at = at or timezone.now()
    rows = Price.objects.filter(model=model, quality=quality or "standard", effective_from__lte=at).filter(
        Q(tenant__isnull=True) | Q(tenant=tenant)
    )
    in_effect: dict[tuple, Price] = {}
    for row in rows.order_by("effective_from", "pk"):
        in_effect[row.tier_key] = row  # later rows replace earlier ones of the same tier
    fitting = [row for row in in_effect.values() if row.fits(width, height)]
    negotiated = [row for row in fitting if row.tenant_id is not None]
    candidates = negotiated or fitting
    if not candidates:
        message = f"No price is set for {model.model_id} at {width}x{height} {quality}; ask the platform operator."
        raise ApplicationError("no_price", message, fields={"model": [message]})
    price = min(candidates, key=lambda row: (row.tier_bound is None, row.tier_bound or 0))
    unit_price = price.unit_price_usd.quantize(USD_QUANTUM)
    total = (unit_price * n).quantize(USD_QUANTUM)
    return Quote(unit_price=unit_price, n=n, total=total, price=price, width=width, height=height)


def images_charge(*, unit_price: Decimal | None, made: int, withheld: int) -> Decimal:
    """What a job owes for what Bedrock returned, whatever the job's end: its quoted unit price for each image
    made, and for each one the content filter withheld where ATELIER_CHARGE_FILTERED_IMAGES says those are
    charged."""
    images = made + (withheld if settings.ATELIER_CHARGE_FILTERED_IMAGES else 0)
    return ((unit_price or Decimal(0)) * images).quantize(USD_QUANTUM)

"""Money is Decimal US dollars with six decimal places, everywhere. Precision is set here once."""

from decimal import Decimal, InvalidOperation

from django.db import models

USD_DECIMAL_PLACES = 6
USD_MAX_DIGITS = 18
USD_QUANTUM = Decimal(1).scaleb(-USD_DECIMAL_PLACES)
USD_MAX_WHOLE_DIGITS = USD_MAX_DIGITS - USD_DECIMAL_PLACES  # what the column holds before the point


def usd_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=USD_MAX_DIGITS, decimal_places=USD_DECIMAL_PLACES, **kwargs)


def parse_usd(value) -> Decimal:
    """A non-negative dollar amount from text or a number; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise ValueError("Give money as a string or Decimal, not a float.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in USD.") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} must be a finite amount of 0 or more.")
    if amount and amount.adjusted() >= USD_MAX_WHOLE_DIGITS:  # before quantize, which cannot hold 1e30 either
        raise ValueError(f"{value!r} is too large: at most {USD_MAX_WHOLE_DIGITS} digits before the decimal point.")
    if amount != amount.quantize(USD_QUANTUM):
        raise ValueError(f"{value!r} has more than {USD_DECIMAL_PLACES} decimal places.")
    return amount.quantize(USD_QUANTUM)

"""Spend reports as CSV, for the REST report and the studio's cost dashboard alike."""

import csv
import io
from decimal import Decimal

CSV_COLUMNS = ("spent_usd", "entries", "approved_assets", "cost_per_approved_asset_usd")
# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...) in a project name).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value) -> str:
    """People's text (project names, tags, e-mails) as data, never as a spreadsheet formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _usd(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.6f}"


def spend_report_csv(*, report: dict, group_by: str) -> str:
    """A spend_report (billing.selectors) as CSV: the group's key, then money with six decimals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([group_by, *CSV_COLUMNS])
    for row in report["rows"]:
        writer.writerow(
            [_text_cell(row["key"]), _usd(row["spent"]), row["entries"], row["approved_assets"],
             _usd(row["cost_per_approved_asset"])]
        )  # fmt: skip
    return buffer.getvalue()

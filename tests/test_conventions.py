"""House rules that a reviewer would otherwise have to remember (CONVENTIONS.md)."""

import re

from .processes import ROOT

APPS = ("assets", "billing", "config", "generation", "tenants", "web")


def app_sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


# Services modules, and the review workflow's transition services (one concept, one module).
TRANSITION_MODULES = ("services.py", "review.py")


def test_status_changes_only_in_transition_services():
    # Each lifecycle move is one function in a services module, under select_for_update.
    assignment = re.compile(r"\.status\s*=[^=]")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in app_sources()
        if path.name not in TRANSITION_MODULES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if assignment.search(line)
    ]
    assert offenders == []


def test_no_float_money():
    offenders = [
        str(path.relative_to(ROOT))
        for path in app_sources()
        if re.search(r"FloatField\(.*(price|amount|cost|usd)", path.read_text(), re.IGNORECASE)
    ]
    assert offenders == []

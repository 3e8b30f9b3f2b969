"""Provenance check: drop an image, see where it came from and what proves it. Any member may check (as over
REST: it costs nothing and changes no asset); each check is kept, and the tenant's earlier checks are listed."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path

from assets.models import ProvenanceCheck
from assets.provenance.checks import provenance_check_run
from config.errors import ApplicationError
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES

from .base import TenantPage, field_errors
from .home import studio_path

CHECKS_LISTED = 20
Verdict = ProvenanceCheck.Verdict

VERDICTS = {  # badge class, short label (lists), title and explanation (the check's page)
    Verdict.ATELIER_ASSET: (
        "ok", "An Atelier asset", "An Atelier asset of {tenant}",
        "The evidence traces this image to one of your assets.",
    ),
    Verdict.AI_GENERATED: (
        "warn", "AI-generated", "AI-generated, not one of your assets",
        "A model made this image, but nothing traces it to an asset of {tenant}.",
    ),
    Verdict.NO_EVIDENCE: (
        "none", "No evidence", "No evidence found",
        "No watermark, manifest or matching asset: nothing says where this image came from.",
    ),
}  # fmt: skip

DETECTORS = {
    "exact_hash": ("Exact bytes (SHA-256)", "The file is byte for byte one of your assets."),
    "perceptual_hash": ("Perceptual hash", "The picture looks like one of your assets, even re-encoded or resized."),
    "atelier_watermark": ("Atelier watermark", "The invisible mark Atelier puts in every image it makes."),
    "c2pa": ("C2PA manifest", "Signed content credentials embedded in the file."),
    "bedrock_watermark": ("Model watermark", "The image model's own invisible mark."),
}

RESULTS = {  # how strong each result is as evidence: a badge class
    "match": "valid", "trusted": "valid", "detected": "valid",
    "unresolved": "in_review", "untrusted": "in_review",
    "invalid": "invalid",
}  # fmt: skip

DETAIL_LABELS = {
    "sha256": "SHA-256",
    "phash": "Perceptual hash",
    "max_distance": "Match within (bits)",
    "distance": "Distance (bits)",
    "asset": "Asset",
    "watermark_id": "Watermark id",
    "manifest_label": "Manifest",
    "signer": "Signed by",
    "signer_issuer": "Certificate issuer",
    "signed_by_atelier": "Signed by Atelier",
    "actions": "Actions",
    "digital_source_types": "Source types",
    "models": "Models",
    "failures": "Validation failures",
    "error": "Error",
    "note": "Note",
    "provider": "Detector",
    "payload": "Payload",
}


class CheckForm(forms.Form):
    image = forms.FileField(
        label="Image",
        help_text="PNG, JPEG or WebP, at most 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].error_messages.update(
            required="Choose an image to check.", empty="The file is empty.", invalid="Choose an image file."
        )

    def clean_image(self):
        upload = self.cleaned_data["image"]
        if upload.size > MAX_INPUT_IMAGE_BYTES:  # refused before a byte of it is read into memory
            raise forms.ValidationError(
                f"The image is {upload.size:,} bytes; the most is {MAX_INPUT_IMAGE_BYTES:,} (5 MB)."
            )
        return upload


def _detail_value(name: str, value, slug: str) -> dict:
    if name == "asset" and value:
        return {"text": value, "link": studio_path("asset", slug, value)}
    if isinstance(value, bool):
        return {"text": "yes" if value else "no"}
    if isinstance(value, list):
        return {"text": ", ".join(str(item) for item in value) or "none"}
    return {"text": "—" if value in (None, "") else str(value)}


def evidence_rows(check: ProvenanceCheck, slug: str) -> list[dict]:
    """Each detector's answer for the page: its name, result, confidence and details in words."""
    rows = []
    for item in check.detectors:
        label, about = DETECTORS.get(item["name"], (item["name"], ""))
        details = [
            {"label": DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()), "mono": key in ("sha256", "phash",
             "payload", "asset", "watermark_id", "manifest_label"), **_detail_value(key, value, slug)}
            for key, value in (item.get("details") or {}).items()
        ]  # fmt: skip
        rows.append(
            {"name": item["name"], "label": label, "about": about, "result": item["result"],
             "badge": RESULTS.get(item["result"], ""), "confidence": round(float(item["confidence"]) * 100),
             "details": details}
        )  # fmt: skip
    return rows


class ProvenancePage(TenantPage):
    template_name = "web/provenance/check.html"
    nav = "provenance"

    def checks(self):
        return (
            ProvenanceCheck.objects.for_tenant(self.tenant)
            .select_related("asset", "asset__tenant", "checked_by", "checked_by_key")
            .order_by("-created_at", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", CheckForm())
        context.setdefault("errors", {})
        context["general_errors"] = context["errors"].get("__all__", [])
        previous = list(self.checks()[:CHECKS_LISTED])
        for check in previous:
            check.verdict_class, check.verdict_label = VERDICTS[check.verdict][:2]
        context.update(previous=previous, max_bytes=MAX_INPUT_IMAGE_BYTES)
        return context

    def post(self, request, *args, **kwargs):
        form = CheckForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                check = provenance_check_run(
                    tenant=self.tenant, actor=self.actor, data=form.cleaned_data["image"].read()
                )
            except ApplicationError as error:
                errors = field_errors(error)
            else:
                messages.success(request, "Checked. Here is what the image carries.")
                return redirect("web:provenance_check", tenant_slug=self.tenant.slug, check_id=check.pk)
        else:
            errors = {name: list(messages_) for name, messages_ in form.errors.items()}
        context = self.get_context_data(form=form, errors=errors, **kwargs)
        return self.render_to_response(context, status=400)


class ProvenanceCheckPage(ProvenancePage):
    """One check's answer: the verdict, the asset it names, each detector's evidence. New checks post to the
    page above."""

    template_name = "web/provenance/result.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        check = get_object_or_404(self.checks(), pk=self.kwargs["check_id"])
        css, _, title, explanation = VERDICTS[check.verdict]
        context.update(
            check=check,
            verdict={"class": css, "title": title.format(tenant=self.tenant.name),
                     "explanation": explanation.format(tenant=self.tenant.name)},
            evidence=evidence_rows(check, self.tenant.slug),
            asset_link=studio_path("asset", self.tenant.slug, check.asset_id) if check.asset_id else "",
        )  # fmt: skip
        return context


urlpatterns = [
    path("provenance/", ProvenancePage.as_view(), name="provenance"),
    path("provenance/<uuid:check_id>/", ProvenanceCheckPage.as_view(), name="provenance_check"),
]

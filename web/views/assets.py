"""The gallery (every image of the tenant, filtered, paged, picked for bulk moves and zip downloads)
and one asset's page (preview, parameters, lineage, provenance, reviews, and what can be done with
it). The rules live in assets.review, assets.services and generation.services; these views only
read the form, call them, and say what happened."""

import uuid
import zipfile
from urllib.parse import urlencode

import django_filters
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme

from assets import review, storage
from assets.api.views import AssetFilter
from assets.models import Asset, Project, ProvenanceCheck
from assets.provenance.checks import provenance_check_run
from assets.selectors import asset_lineage, asset_list, job_mask_asset
from assets.services import asset_update
from billing.selectors import job_cost
from config.errors import ApplicationError
from generation.bedrock.specs import SPECS
from generation.models import BedrockModel
from generation.services import (
    UPSCALE_OPTIONS,
    UPSCALERS,
    asset_finalize_options,
    asset_tool_offers,
    asset_try_on_offer,
    job_finalize,
)
from tenants.models import Membership, Role

from .base import FORM_ALREADY_SENT, TenantPage, field_errors, form_reuse_said_plainly

PAGE_SIZE = 48
DOWNLOAD_MAX = 100
COMMENT_MAX = review.COMMENT_MAX
# The review moves as pages name them, and as assets.review.TRANSITIONS does.
MOVES = {
    "submit": "submit",
    "approve": "approve",
    "reject": "reject",
    "request_changes": "request-changes",
    "request-changes": "request-changes",
    "archive": "archive",
}
MOVE_DONE = {
    "submit": "submitted for review",
    "approve": "approved",
    "reject": "rejected",
    "request-changes": "sent back for changes",
    "archive": "archived",
}


class GalleryFilter(AssetFilter):
    """The REST API's asset filters, with calendar days for dates (both ends included) and `q`."""

    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="To")
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta(AssetFilter.Meta):
        fields = [*AssetFilter.Meta.fields, "q"]


def _asset_ids(values: list[str], tenant) -> list[uuid.UUID]:
    """The picked ids, all of them this tenant's assets: anything else is a 404 before anything happens."""
    try:
        ids = list(dict.fromkeys(uuid.UUID(value) for value in values))
    except (ValueError, AttributeError):
        raise Http404("No such asset.") from None
    if Asset.objects.for_tenant(tenant).filter(pk__in=ids).count() != len(ids):
        raise Http404("No such asset.")
    return ids


def _back(request, fallback: str) -> str:
    """Where a form sends people back to: its `next` field when it is a path on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def job_url(tenant_slug: str, job_id) -> str:
    return reverse("web:job", args=[tenant_slug, job_id])


# --- gallery --------------------------------------------------------------------------------------


class GalleryPage(TenantPage):
    template_name = "web/assets/gallery.html"
    nav = "gallery"

    def get_template_names(self):
        if self.request.htmx and self.request.GET.get("page"):
            return ["web/assets/_gallery_page.html"]  # infinite scroll: the next page's thumbnails
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = asset_list(tenant=self.tenant).select_related("tenant", "created_by", "job__model")
        filters = GalleryFilter(self.request.GET, queryset=queryset)
        page = Paginator(filters.qs, PAGE_SIZE).get_page(self.request.GET.get("page"))
        kept = self.request.GET.copy()
        kept.pop("page", None)
        context.update(
            filters=filters,
            page_obj=page,
            assets=page.object_list,
            filter_query=kept.urlencode(),
            filtered=any(any(values) for _, values in kept.lists()),
            statuses=Asset.Status.choices,
            projects=Project.objects.for_tenant(self.tenant).order_by("archived", "name"),
            models=BedrockModel.objects.filter(jobs__tenant=self.tenant).distinct().order_by("name"),
            creators=Membership.objects.filter(tenant=self.tenant).select_related("user").order_by("user__email"),
            chosen={
                "status": self.request.GET.getlist("status"),
                "project": self.request.GET.get("project", ""),
                "model": self.request.GET.get("model", ""),
                "creator": self.request.GET.get("creator", ""),
            },
            download_max=DOWNLOAD_MAX,
            here=self.request.get_full_path(),
        )
        return context


class GalleryBulk(TenantPage):
    """One review move on the picked assets, all or nothing (assets.review.asset_bulk_transition)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        back = _back(request, reverse("web:gallery", args=[self.tenant.slug]))
        picked = request.POST.getlist("assets")
        if not picked:
            messages.error(request, "Pick at least one image first.")
            return redirect(back)
        ids = _asset_ids(picked, self.tenant)
        action = MOVES.get(request.POST.get("action", ""), request.POST.get("action", ""))
        comment = request.POST.get("comment", "")
        try:
            moved = review.asset_bulk_transition(
                tenant=self.tenant, asset_ids=[str(i) for i in ids], action=action, actor=self.actor, comment=comment
            )
        except review.BulkFailed as error:
            messages.error(request, error.message)
            titles = dict(Asset.objects.for_tenant(self.tenant).filter(pk__in=ids).values_list("pk", "title"))
            problems = error.extra["errors"]
            for problem in problems[:10]:
                name = titles.get(_uuid_or_none(problem["id"])) or f"Image {problem['id'][:8]}"
                messages.error(request, f"{name}: {problem['message']}")
            if len(problems) > 10:
                messages.error(request, f"…and {len(problems) - 10} more.")
            return redirect(back)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(back)
        count = len(moved)
        messages.success(request, f"{count} image{'s' if count != 1 else ''} {MOVE_DONE[action]}.")
        return redirect(back, permanent=False)


def _uuid_or_none(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class _Drain:
    """A write-only file for zipfile that hands over what was written so far: the zip leaves as it
    is made, one image in memory at a time."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def _zip_stream(assets: list[Asset]):
    out = _Drain()
    missing = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # images are compressed already
        for asset in assets:
            try:
                data = storage.read_object(asset.file_key)
            except (FileNotFoundError, storage.StorageUnavailable):
                missing.append(str(asset.pk))
                continue
            archive.writestr(f"{asset.pk}.{asset.format}", data)
            yield out.take()
        if missing:
            archive.writestr("MISSING.txt", "These images could not be read from storage:\n" + "\n".join(missing))
    yield out.take()


class GalleryDownload(TenantPage):
    """The picked images' originals in one zip, each named by its asset id (at most 100)."""

    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        return self._download(request, request.GET.getlist("assets"))

    def post(self, request, *args, **kwargs):
        return self._download(request, request.POST.getlist("assets"))

    def _download(self, request, picked: list[str]):
        back = _back(request, reverse("web:gallery", args=[self.tenant.slug]))
        if not picked:
            messages.error(request, "Pick at least one image to download.")
            return redirect(back)
        ids = _asset_ids(picked, self.tenant)
        if len(ids) > DOWNLOAD_MAX:
            messages.error(request, f"Download at most {DOWNLOAD_MAX} images at a time; {len(ids)} were picked.")
            return redirect(back)
        by_id = {asset.pk: asset for asset in Asset.objects.for_tenant(self.tenant).filter(pk__in=ids)}
        response = StreamingHttpResponse(_zip_stream([by_id[i] for i in ids]), content_type="application/zip")
        name = f"atelier-{self.tenant.slug}-{len(ids)}-image{'s' if len(ids) != 1 else ''}.zip"
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response


# --- one asset ------------------------------------------------------------------------------------

PARAM_LABELS = {
    "prompt": "Prompt",
    "negative_prompt": "Negative prompt",
    "width": "Width",
    "height": "Height",
    "aspect_ratio": "Aspect ratio",
    "quality": "Quality",
    "n": "Images",
    "seed": "Seed",
    "cfg_scale": "Prompt strength (cfg)",
    "style": "Style",
    "colors": "Colours",
    "similarity_strength": "Similarity",
    "strength": "Strength",
    "mask_prompt": "Mask prompt",
    "outpainting_mode": "Outpainting mode",
    "control_mode": "Control mode",
    "control_strength": "Control strength",
    "output_format": "Format",
    "mask_type": "Try-on mask",
    "garment_class": "Garment class",
    "mask_shape": "Mask shape",
    "merge_style": "Merge style",
}
PROVENANCE_LABELS = {
    "exact_hash": "Exact bytes",
    "perceptual_hash": "Perceptual near-match",
    "atelier_watermark": "Atelier watermark",
    "c2pa": "C2PA manifest",
    "bedrock_watermark": "Bedrock watermark",
}


def job_parameters(job) -> list[tuple[str, object]]:
    """The request a job ran, in reading order; input images are in the lineage, not here."""
    if job is None:
        return []
    params = job.params or {}
    return [(label, params[key]) for key, label in PARAM_LABELS.items() if params.get(key) not in (None, "", [])]


# The image tools the asset page opens the composer with, this image as their input: (label, model id, what it does).
TOOL_ACTIONS = (
    ("Erase", "stability.stable-image-erase-object-v1:0", "Erase an object, filling in behind it"),
    ("Replace", "stability.stable-image-search-replace-v1:0", "Find something by name and replace it"),
    ("Recolor", "stability.stable-image-search-recolor-v1:0", "Find something by name and recolour it"),
    ("Restyle", "stability.stable-style-transfer-v1:0", "Apply another image's style to this one"),
    ("Remove background", "stability.stable-image-remove-background-v1:0", "Cut the subject out"),
    ("Outpaint", "stability.stable-outpaint-v1:0", "Extend the picture past its edges"),
    ("Inpaint", "stability.stable-image-inpaint-v1:0", "Repaint a masked part from a prompt"),
)
# A general model's image task the asset page opens the composer with, this image as the person.
TRY_ON_ACTION = ("Try on", "amazon.nova-canvas-v1:0", "Dress the person in a garment from another image")
UPSCALE_LABELS = {"fast": "Fast (4x)", "conservative": "Conservative", "creative": "Creative"}


def tool_actions(tenant, asset) -> list[dict]:
    """The tools the tenant's catalog offers, and try-on, each a link to the composer with it chosen and this
    image as input."""
    offers = asset_tool_offers(tenant=tenant, asset=asset, model_ids=[model_id for _, model_id, _ in TOOL_ACTIONS])
    compose = reverse("web:compose", args=[tenant.slug])
    actions = [
        {"label": label, "help": help, "offer": offers[model_id],
         "href": f"{compose}?{urlencode({'model': model_id, 'source_asset': str(asset.pk)})}"}
        for label, model_id, help in TOOL_ACTIONS
        if model_id in offers
    ]  # fmt: skip
    label, model_id, help = TRY_ON_ACTION
    try_on = asset_try_on_offer(tenant=tenant, asset=asset, model_id=model_id)
    if try_on is not None:
        query = {"model": model_id, "task_type": "VIRTUAL_TRY_ON", "source_asset": str(asset.pk)}
        actions.append({"label": label, "help": help, "offer": try_on, "href": f"{compose}?{urlencode(query)}"})
    return actions


def finalize_panel(tenant, asset) -> dict:
    """The Finalize panel: the premium re-render (where offered) and the upscalers, each priced at its output size."""
    options = asset_finalize_options(tenant=tenant, asset=asset)
    upscales = [dict(offer=o, label=UPSCALE_LABELS[o.kind]) for o in options if o.kind in UPSCALERS]
    takes = {param.name: param for o in options if o.kind in UPSCALERS for param in o.options}
    return {
        "premium": next((o for o in options if o.kind == "premium"), None),
        "upscales": upscales,
        "prompt": next((o.prompt for o in options if o.prompt), ""),
        "prompt_takers": ", ".join(
            u["label"].lower() for u in upscales if "prompt" in {p.name for p in u["offer"].options}
        ),
        "creativity": takes.get("creativity"),
    }


def _lineage_tree(root_id: str, entries: list[dict], step: str, by_id: dict) -> list[dict]:
    """Nested nodes for the template, following `step` ids from the root; an asset reached twice is
    shown once and then named as seen above."""
    links = {entry["id"]: entry[step] for entry in entries}
    summaries = {entry["id"]: entry for entry in entries}
    seen: set[str] = set()

    def grow(ids: list[str], depth: int) -> list[dict]:
        nodes = []
        for asset_id in ids:
            if asset_id not in summaries:
                continue
            repeat = asset_id in seen
            seen.add(asset_id)
            kids = [] if repeat or depth > 20 else grow(links.get(asset_id, []), depth + 1)
            summary = summaries[asset_id]
            nodes.append(
                {"summary": summary, "asset": by_id.get(asset_id), "kids": kids, "repeat": repeat,
                 "status_label": Asset.Status(summary["status"]).label}
            )  # fmt: skip
        return nodes

    return grow(links.get(root_id, []), 0)


class AssetPage(TenantPage):
    template_name = "web/assets/detail.html"
    nav = "gallery"

    def get_asset(self) -> Asset:
        queryset = Asset.objects.for_tenant(self.tenant).select_related(
            "tenant", "project", "job__model", "job__parent", "created_by"
        )
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        asset = kwargs.get("asset") or self.get_asset()
        job = asset.job
        lineage = asset_lineage(asset=asset)
        ids = [entry["id"] for entry in lineage["ancestors"] + lineage["descendants"]]
        by_id = {
            str(a.pk): a for a in Asset.objects.for_tenant(self.tenant).filter(pk__in=ids).select_related("tenant")
        }
        root = lineage["asset"]
        ancestors = [dict(entry) for entry in lineage["ancestors"]] + [dict(root, id="__root__")]
        descendants = [dict(entry) for entry in lineage["descendants"]] + [dict(root, id="__root__")]
        latest_check = (
            ProvenanceCheck.objects.for_tenant(self.tenant)
            .filter(Q(input_asset=asset) | Q(asset=asset))
            .select_related("checked_by")
            .order_by("-created_at")
            .first()
        )
        cost, cost_note = None, ""
        if job is not None:
            if job.parent_id:
                cost, cost_note = job_cost(job.parent), "charged with its batch"
            else:
                cost = job_cost(job)
            if cost is None:
                cost_note = "not settled yet"
        context.update(
            asset=asset,
            job=job,
            job_link=job_url(self.tenant.slug, job.pk) if job else "",
            parameters=job_parameters(job),
            cost=cost,
            cost_note=cost_note,
            parents=_lineage_tree("__root__", ancestors, "parents", by_id),
            children=_lineage_tree("__root__", descendants, "children", by_id),
            reviews=asset.reviews.select_related("reviewer", "reviewer_key").order_by("-at", "-id"),
            moves=review.asset_moves(tenant=self.tenant, asset=asset, actor=self.actor),
            provenance=asset.provenance or {},
            latest_check=latest_check,
            detector_labels=PROVENANCE_LABELS,
            errors=kwargs.get("errors", {}),
            comment=kwargs.get("comment", ""),
            form=kwargs.get("form", {"title": asset.title, "tags": ", ".join(asset.tags)}),
            comment_max=COMMENT_MAX,
            tags_query=[(tag, urlencode({"tag": tag})) for tag in asset.tags],
            tools=tool_actions(self.tenant, asset),  # none on a mask (Asset.takes_edits)
            finals=finalize_panel(self.tenant, asset),
            # Virtual try-on: the mask returned with this image, or, on a mask's page, the job it came with.
            mask=job_mask_asset(job) if job else None,
            mask_of=asset.mask_of.first() if asset.kind == Asset.Kind.MASK else None,
        )
        return context

    def asset_url(self) -> str:
        return reverse("web:asset", args=[self.tenant.slug, self.kwargs["pk"]])


class _AssetAction(AssetPage):
    """A form post about one asset: its problems come back as a message on the asset's page."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        asset = self.get_asset()
        try:
            return self.act(request, asset)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(self.asset_url())

    def act(self, request, asset):  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class AssetUpdate(AssetPage):
    """Title and tags; a refused value is shown beside its field (400) and nothing changes."""

    minimum_role = Role.CREATOR
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        asset = self.get_asset()
        form = {"title": request.POST.get("title", ""), "tags": request.POST.get("tags", "")}
        tags = [tag.strip() for tag in form["tags"].split(",") if tag.strip()]
        try:
            asset_update(tenant=self.tenant, asset=asset, actor=self.actor, title=form["title"], tags=tags)
        except ApplicationError as error:
            context = self.get_context_data(asset=asset, errors=field_errors(error), form=form)
            return self.render_to_response(context, status=400)
        messages.success(request, "Saved the title and tags.")
        return redirect(self.asset_url())


class AssetTransition(_AssetAction):
    """submit / approve / reject / request_changes / archive, with a comment (assets.review)."""

    def act(self, request, asset):
        move = MOVES.get(self.kwargs["action"])
        if move is None:
            raise Http404("No such move.")
        review.TRANSITIONS[move](
            tenant=self.tenant, asset_id=asset.pk, actor=self.actor, comment=request.POST.get("comment", "")
        )
        messages.success(request, f"{asset.title or 'The image'} was {MOVE_DONE[move]}.")
        return redirect(self.asset_url())


class AssetComment(_AssetAction):
    def post(self, request, *args, **kwargs):
        asset = self.get_asset()
        try:
            review.asset_comment(
                tenant=self.tenant, asset_id=asset.pk, actor=self.actor, comment=request.POST.get("comment", "")
            )
        except ApplicationError as error:
            if error.status_code != 400:
                messages.error(request, error.message)
                return redirect(self.asset_url())
            errors = {"comment": field_errors(error).get("comment", [error.message])}
            context = self.get_context_data(asset=asset, errors=errors, comment=request.POST.get("comment", ""))
            return self.render_to_response(context, status=400)
        messages.success(request, "Comment added.")
        return redirect(self.asset_url() + "#reviews")


class AssetFinalize(_AssetAction):
    """Re-render at premium quality (optionally larger), or upscale (`upscale`), as a new job; its page follows it."""

    minimum_role = Role.CREATOR

    def act(self, request, asset):
        upscale = request.POST.get("upscale", "").strip() or None
        fields = {}
        for field in ("width", "height"):
            value = request.POST.get(field, "").strip()
            if value:
                fields[field] = int(value) if value.isdigit() else value  # the service names a bad value
        spec = SPECS.get(UPSCALERS.get(upscale or ""))
        for field in UPSCALE_OPTIONS:  # one form serves every upscaler: each gets only what it takes
            value = request.POST.get(field, "").strip()
            if value and spec is not None and spec.param(field) is not None:
                fields[field] = value
        with form_reuse_said_plainly():
            submission = job_finalize(
                tenant=self.tenant, actor=self.actor, asset=asset, upscale=upscale,
                idempotency_key=self.form_token(), **fields,
            )  # fmt: skip
        job = submission.job
        if not submission.created:
            messages.info(request, FORM_ALREADY_SENT)
        elif upscale:
            label = UPSCALE_LABELS[upscale].lower()
            messages.success(request, f"Upscaling ({label}): job queued ({job.width}×{job.height}), ready in a moment.")
        else:
            messages.success(
                request, f"Finalizing at premium quality: job queued ({job.width}×{job.height}), ready in a moment."
            )
        return redirect(job_url(self.tenant.slug, job.pk))


class AssetProvenanceCheck(_AssetAction):
    """Run every provenance detector on the stored image and keep the answer."""

    def act(self, request, asset):
        try:
            check = provenance_check_run(tenant=self.tenant, actor=self.actor, asset=asset)
        except FileNotFoundError:
            messages.error(request, "The stored image is missing, so it cannot be checked.")
            return redirect(self.asset_url() + "#provenance")
        messages.success(request, f"Provenance checked: {check.get_verdict_display()}.")
        return redirect(self.asset_url() + "#provenance")


urlpatterns = [
    path("gallery/", GalleryPage.as_view(), name="gallery"),
    path("gallery/bulk/", GalleryBulk.as_view(), name="gallery_bulk"),
    path("gallery/download/", GalleryDownload.as_view(), name="gallery_download"),
    path("assets/<uuid:pk>/", AssetPage.as_view(), name="asset"),
    path("assets/<uuid:pk>/edit/", AssetUpdate.as_view(), name="asset_update"),
    path("assets/<uuid:pk>/comment/", AssetComment.as_view(), name="asset_comment"),
    path("assets/<uuid:pk>/finalize/", AssetFinalize.as_view(), name="asset_finalize"),
    path("assets/<uuid:pk>/check/", AssetProvenanceCheck.as_view(), name="asset_check"),
    path("assets/<uuid:pk>/<slug:action>/", AssetTransition.as_view(), name="asset_transition"),
]

from .page import Page


def provenance_check(tenant):
    from assets.models import ProvenanceCheck

    return ProvenanceCheck.objects.create(
        tenant=tenant, input_sha256="0" * 64, verdict=ProvenanceCheck.Verdict.NO_EVIDENCE, detectors=[]
    )


PAGES = [
    Page("provenance", "get", "/t/{slug}/provenance/", 200),
    # Without an image the form answers 400 on the caller's own tenant; another tenant's is 404 before any of it.
    Page("provenance", "post", "/t/{slug}/provenance/", 400),
    Page("provenance_check", "get", "/t/{slug}/provenance/{id}/", 200, target=provenance_check),
]

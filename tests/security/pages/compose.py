from .page import Page

NOVA = "amazon.nova-canvas-v1:0"
A_REQUEST = {"model": NOVA, "task_type": "TEXT_IMAGE", "prompt": "a lamp", "width": "512", "height": "512", "n": "1"}


def _job(tenant):
    from ...factories import make_job

    return make_job(tenant)


def _ended_job(tenant):
    from generation.models import GenerationJob

    from ...factories import make_job

    return make_job(tenant, status=GenerationJob.Status.SUCCEEDED)  # its event stream ends at once


def _prompt(tenant):
    from assets import library
    from assets.services import project_get_default

    project = project_get_default(tenant=tenant)
    return library.prompt_create(tenant=tenant, actor=None, project=project, name="Hero", text="a {product}")


PAGES = [
    Page("compose", "get", "/t/{slug}/compose/", 200),
    Page("compose", "post", "/t/{slug}/compose/", 302, data=A_REQUEST),
    Page("compose_estimate", "post", "/t/{slug}/compose/estimate/", 200, data=A_REQUEST),
    Page("compose_prompt_fields", "get", "/t/{slug}/compose/prompt-fields/?saved_prompt={id}", 200, target=_prompt),
    Page("jobs", "get", "/t/{slug}/jobs/", 200),
    Page("job", "get", "/t/{slug}/jobs/{id}/", 200, target=_job),
    Page("job_progress", "get", "/t/{slug}/jobs/{id}/progress/", 200, target=_job),
    Page("job_events", "get", "/t/{slug}/jobs/{id}/events/", 200, target=_ended_job),
    Page("job_cancel", "post", "/t/{slug}/jobs/{id}/cancel/", 302, target=_job),
]

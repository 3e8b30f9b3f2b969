from .page import Page


def a_project(tenant):
    from assets.models import Project

    return Project.objects.create(tenant=tenant, name="Autumn", slug="autumn")


PAGES = [
    Page("projects", "get", "/t/{slug}/projects/", 200),
    Page("project_new", "get", "/t/{slug}/projects/new/", 200),
    Page("project_new", "post", "/t/{slug}/projects/new/", 302, data={"name": "Winter", "brand_palette": ["#112233"]}),
    Page("project", "get", "/t/{slug}/projects/{id}/", 200, target=a_project),
    Page(
        "project",
        "post",
        "/t/{slug}/projects/{id}/",
        302,
        target=a_project,
        data={"name": "Renamed", "budget_amount": "5"},
    ),
    Page(
        "project_stages",
        "post",
        "/t/{slug}/projects/{id}/stages/",
        302,
        target=a_project,
        data={"stage_name": ["Brand"], "stage_role": ["approver"], "stage_members": [""]},
    ),  # fmt: skip
    Page("project_archive", "post", "/t/{slug}/projects/{id}/archive/", 302, target=a_project, data={"archived": "1"}),
]

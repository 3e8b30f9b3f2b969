"""Sign-in, sign-out and password change (Django's auth views with the studio's templates, named
explicitly: the admin ships its own under registration/), and
the landing page that sends a signed-in person to their tenant."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy

from tenants.models import Membership


@login_required
def start(request):
    """The first tenant the person belongs to (by name); a page that says so when there is none."""
    membership = Membership.objects.filter(user=request.user).select_related("tenant").order_by("tenant__name").first()
    if membership is None:
        return render(request, "web/no_tenant.html")
    return redirect("web:home", tenant_slug=membership.tenant.slug)


urlpatterns = [
    path("", start, name="start"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="web/account/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/account/password_change.html", success_url=reverse_lazy("web:password_change_done")
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="web/account/password_change_done.html"),
        name="password_change_done",
    ),
]

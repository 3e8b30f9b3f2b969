"""The Content-Security-Policy header (Django 5.2 has none built in; 6.0 adds one): the policy string
settings.ATELIER_CONTENT_SECURITY_POLICY, or the one ATELIER_CONTENT_SECURITY_POLICY_BY_PATH names for
the request's exact path. Set in production; empty means no header."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "ATELIER_CONTENT_SECURITY_POLICY", "")
        self.by_path = getattr(settings, "ATELIER_CONTENT_SECURITY_POLICY_BY_PATH", {})

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.by_path.get(request.path, self.policy)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

"""The Content-Security-Policy header (Django 5.2 has none built in; 6.0 adds one): the policy string
settings.ATELIER_CONTENT_SECURITY_POLICY, or the one ATELIER_CONTENT_SECURITY_POLICY_BY_PATH names for
the request's exact path. Set in production; empty means no header."""

from django.conf import settings

from config.middleware import EitherWayMiddleware


class ContentSecurityPolicyMiddleware(EitherWayMiddleware):
    def __init__(self, get_response):
        super().__init__(get_response)
        self.policy = getattr(settings, "ATELIER_CONTENT_SECURITY_POLICY", "")
        self.by_path = getattr(settings, "ATELIER_CONTENT_SECURITY_POLICY_BY_PATH", {})

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return self._with_policy(request, self.get_response(request))

    async def __acall__(self, request):
        return self._with_policy(request, await self.get_response(request))

    def _with_policy(self, request, response):
        policy = self.by_path.get(request.path, self.policy)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

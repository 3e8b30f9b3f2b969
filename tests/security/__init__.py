"""The security suite: each requirement, and where it is proven.

- Tenancy wall, every API endpoint and studio page (generated lists, completeness enforced by the URL
  conf): test_cross_tenant.py, test_cross_tenant_pages.py.
- Roles, every call × viewer/creator/approver/admin, the needed role read from the views: test_roles.py.
- API keys and memberships losing power at once: test_api_keys_lifecycle.py, with tests/tenants/
  test_api_keys.py and test_authentication.py.
- Download links (expiry, re-pointing, salts, presigned signatures): test_downloads.py, with
  tests/assets/test_storage.py.
- Hostile uploads at every door (bombs, polyglots, SVG/HTML as PNG, 6 MB, climbing names):
  test_uploads.py, with tests/generation/test_images.py for read_image itself.
- Webhook SSRF (private, loopback, link-local and metadata addresses; DNS rebinding at delivery; no
  redirects): tests/tenants/test_webhooks.py; URLs read two ways (backslash, user info), private
  addresses in IPv6 forms (NAT64, 6to4, IPv4-compatible, Teredo), odd IPv4 spellings, and connecting
  only to the checked addresses: test_webhook_addresses.py.
- Escaping of everything people type, on every studio page and in the cost charts: test_xss.py.
- Production headers, cookies, CSP and `check --deploy`: test_production_settings.py, with
  tests/test_deployment.py."""

"""The OpenAI-compatible images API under /v1/: the API key alone names the tenant, requests run
through the same job_submit, quota, budget, storage and provenance path as every other surface,
and answers (and errors) have OpenAI's shape so the official SDKs work against it."""

"""boto3 `bedrock-runtime` for image models: long read timeout, no SDK retries (a resent image
request may be billed twice; Celery retries and records every attempt), and Bedrock's errors
sorted into the two kinds the pipeline acts on: retry later, or fail now."""

import json
import time
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from config.metrics import observe_bedrock_call

RETRYABLE_CODES = {
    "ThrottlingException",
    "ModelNotReadyException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
}
FINAL_CODES = {
    "ValidationException",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ModelErrorException",
}
CONTENT_FILTER_HINTS = ("content filter", "blocked by our content", "responsible ai")


class BedrockError(Exception):
    retryable = False

    def __init__(self, code: str, message: str, *, status: int | None = None, request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = status
        self.request_id = request_id


class RetryableBedrockError(BedrockError):
    """Try again later (throttled, not ready, 5xx, timed out)."""

    retryable = True


class FinalBedrockError(BedrockError):
    """Trying again cannot help (invalid, forbidden, missing, over quota, model error, filtered)."""


@dataclass
class InvokeResponse:
    payload: dict
    request_id: str | None
    seconds: float


def make_client(
    *,
    service: str = "bedrock-runtime",
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    read_timeout: float = 300,
    connect_timeout: float = 10,
    max_pool_connections: int = 10,
    session: boto3.session.Session | None = None,
):
    """`session`: a boto3 Session to build on; one already used has its service models loaded, which makes
    the next client quick (a fresh Session reads them from disk again). Sessions are not thread-safe."""
    config = Config(
        region_name=region,
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},  # exactly one attempt per call
        max_pool_connections=max_pool_connections,
    )
    session = session or boto3.session.Session()
    credentials = {}
    if endpoint_url and session.get_credentials() is None:
        # An explicit endpoint without credentials is the local emulator, which does not check
        # signatures; a real endpoint refuses these and says so.
        credentials = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}
    return session.client(service, endpoint_url=endpoint_url or None, config=config, **credentials)


def client_from_settings(*, max_pool_connections: int = 10):
    """`max_pool_connections`: at least the threads that call at once (urllib3 does not wait for a pooled
    connection: past the pool's size it opens a new one per call and drops it, with a warning)."""
    from django.conf import settings

    return make_client(
        endpoint_url=settings.ATELIER_BEDROCK_ENDPOINT_URL,
        region=settings.ATELIER_BEDROCK_REGION,
        read_timeout=settings.ATELIER_BEDROCK_READ_TIMEOUT,
        max_pool_connections=max_pool_connections,
    )


def invoke(client, model_id: str, body: dict, *, headers: dict[str, str] | None = None) -> InvokeResponse:
    """One InvokeModel call. Raises RetryableBedrockError or FinalBedrockError, nothing else. `headers` are added
    by an event handler on the client itself, seen by every call it makes meanwhile: pass them only on a client
    of your own, never on the worker's shared one (tasks.bedrock_client), whose threads call at once."""
    started = time.monotonic()
    handler = None
    if headers:

        def handler(request, **kwargs):  # extra headers: trace, service tier, emulator faults
            for name, value in headers.items():
                request.headers[name] = value

        client.meta.events.register_first("before-sign.bedrock-runtime.InvokeModel", handler)
    error_code = None
    try:
        response = client.invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        payload = json.loads(response["body"].read())
    except ClientError as error:
        classified = _classify(error)
        error_code = classified.code
        raise classified from error
    except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError) as error:
        error_code = type(error).__name__
        raise RetryableBedrockError(error_code, str(error)) from error
    finally:
        if handler is not None:
            client.meta.events.unregister("before-sign.bedrock-runtime.InvokeModel", handler)
        observe_bedrock_call(model_id=model_id, seconds=time.monotonic() - started, error_code=error_code)
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    return InvokeResponse(payload=payload, request_id=request_id, seconds=time.monotonic() - started)


def _classify(error: ClientError) -> BedrockError:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = details.get("Message", str(error))
    metadata = error.response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    kind = (
        RetryableBedrockError
        if code in RETRYABLE_CODES or (code not in FINAL_CODES and (status or 0) >= 500)
        else FinalBedrockError
    )
    if code == "ValidationException" and any(hint in message.lower() for hint in CONTENT_FILTER_HINTS):
        code = "ContentFiltered"
    return kind(code, message, status=status, request_id=metadata.get("RequestId"))

"""The emulator's HTTP side: `POST /model/{modelId}/invoke` as bedrock-runtime speaks it. Bodies
are read back into requests and checked by the same validate_request Atelier uses, so the
emulator refuses exactly what Atelier would; errors go out the way Bedrock sends them
(`x-amzn-ErrorType` + JSON message) so botocore raises its real exception classes."""

import base64
import collections
import contextlib
import dataclasses
import datetime
import json
import logging
import math
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from generation.bedrock import bodies
from generation.bedrock.request import RequestInvalid, validate_request
from generation.bedrock.result import BodyInvalid
from generation.bedrock.specs import SPECS, Family, Task, spec_for_invoked_id

from .render import render, try_on_mask_png

logger = logging.getLogger("generation.emulator")

FAULT_HEADER = "X-Atelier-Emulator-Fault"  # one of FAULTS: this request fails that way
LATENCY_HEADER = "X-Atelier-Emulator-Latency"  # seconds to wait before answering
FILTER_HEADER = "X-Atelier-Emulator-Filter"  # how many images the content filter withholds

# name → (HTTP status, error code botocore maps to its exception class, Bedrock's message)
FAULTS = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "not-ready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
    "unavailable": (503, "ServiceUnavailableException", "Service unavailable. Try your request again."),
    "internal": (500, "InternalServerException", "The server encountered an internal error."),
    "timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request."),
    "model-error": (424, "ModelErrorException", "The model returned an error while processing the request."),
    "access-denied": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
    "quota": (400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account."),
    "not-found": (404, "ResourceNotFoundException", "The requested resource could not be found."),
}
FILTER_MESSAGE = "This request has been blocked by our content filters."
STABILITY_FILTER_REASON = "Filter reason: output image"
INVOKE_PATH = re.compile(r"^/model/(?P<model_id>[^/]+)/invoke$")
# Bedrock's answer to InvokeModel on a model past its end of life.
END_OF_LIFE_ERROR = (
    404,
    "ResourceNotFoundException",
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details.",
)
# Bedrock's answer to an on-demand call naming the bare id of a model served only through inference profiles.
ON_DEMAND_REFUSED = (
    "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with the ID "
    "or ARN of an inference profile that contains this model."
)
# Image models Bedrock lists that Atelier has no spec for: the catalog sync reports them to operators.
UNSUPPORTED_MODELS = {
    "stability.sd3-large-v1:0": ("Stable Diffusion 3 Large", "Stability AI"),
}
PROFILE_PREFIXES = ("us", "eu", "global")  # system-defined cross-region inference profiles the emulator lists


@dataclass
class ModelLifecycle:
    """One model's `modelLifecycle` as ListFoundationModels reports it; times are epoch seconds."""

    status: str = "ACTIVE"  # ACTIVE | LEGACY
    legacy_time: float | None = None
    end_of_life_time: float | None = None
    extended_access_time: float | None = None  # publicExtendedAccessTime: higher prices from then on

    @classmethod
    def parse(cls, text: str) -> "ModelLifecycle":
        """`LEGACY`, `LEGACY:2026-06-30` (end of life), `LEGACY:2026-01-01:2026-06-30` (legacy since, end of
        life) or `LEGACY:2026-01-01:2026-04-01:2026-06-30` (legacy since, public extended access from, end of life)."""
        status, *dates = text.split(":")
        if status not in ("ACTIVE", "LEGACY") or len(dates) > 3:
            raise ValueError(
                f"Lifecycle {text!r}: use ACTIVE or LEGACY[:[LEGACY_DATE:[EXTENDED_ACCESS_DATE:]]END_OF_LIFE_DATE]."
            )
        times = [_epoch(day) for day in dates]
        legacy = extended = end = None
        if len(times) == 1:
            (end,) = times
        elif len(times) == 2:
            legacy, end = times
        elif len(times) == 3:
            legacy, extended, end = times
        if status == "LEGACY" and legacy is None:
            legacy = time.time()
        return cls(status=status, legacy_time=legacy, end_of_life_time=end, extended_access_time=extended)

    def as_wire(self) -> dict:
        wire = {"status": self.status}
        if self.legacy_time is not None:
            wire["legacyTime"] = self.legacy_time
        if self.extended_access_time is not None:
            wire["publicExtendedAccessTime"] = self.extended_access_time
        if self.end_of_life_time is not None:
            wire["endOfLifeTime"] = self.end_of_life_time
        return wire

    def ended(self) -> bool:
        return self.end_of_life_time is not None and self.end_of_life_time <= time.time()


def _epoch(day: str) -> float:
    return datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC).timestamp()


@dataclass
class EmulatorConfig:
    throttle_rate: float = 0.0  # share of requests answered ThrottlingException
    error_rate: float = 0.0  # share answered 500/503
    timeout_rate: float = 0.0  # share answered ModelTimeoutException
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, drawn uniformly per request
    blocked_word: str = "forbidden"  # a prompt containing it has images withheld
    seed: int | None = None  # makes the random faults repeatable
    fault: str | None = None  # every call fails this way (a name from FAULTS) until changed
    lifecycles: dict = dataclasses.field(default_factory=dict)  # model id → ModelLifecycle; absent: ACTIVE
    # Models served only through cross-region inference profiles: the bare id is refused on demand.
    profile_only: tuple[str, ...] = ()

    def update(self, changes: dict) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__ or name in ("seed", "lifecycles"):
                raise ValueError(f"Unknown setting {name!r}.")
            if name == "fault" and value is not None and value not in FAULTS:
                raise ValueError(f"Unknown fault {value!r}; use one of {', '.join(FAULTS)}.")
            if name == "profile_only" and not (isinstance(value, list) and set(value) <= set(SPECS)):
                raise ValueError("profile_only: give a list of model ids.")
            setattr(self, name, tuple(value) if name in ("latency", "profile_only") else value)


class BedrockError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


class Emulator:
    """Turns one InvokeModel call into a response body or a BedrockError."""

    def __init__(self, config: EmulatorConfig):
        self.config = config
        self._initial = dataclasses.replace(config, lifecycles=dict(config.lifecycles))
        self._random = random.Random(config.seed)  # noqa: S311 — fault injection, not security
        self._lock = threading.Lock()
        self.invocations = 0  # every InvokeModel call received, answered or failed: tests count retries
        self.calls: collections.deque = collections.deque(maxlen=100_000)  # (model id, time, status)
        self.in_flight = 0  # InvokeModel calls being answered now
        self.peak_in_flight = 0  # the most at once since the last reset: tests see how many a worker overlaps

    def reset(self) -> None:
        with self._lock:
            self.config = dataclasses.replace(self._initial, lifecycles=dict(self._initial.lifecycles))
            self.invocations = 0
            self.calls.clear()
            self.peak_in_flight = self.in_flight

    @contextlib.contextmanager
    def counting_in_flight(self):
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def record(self, model_id: str, status: int) -> None:
        with self._lock:
            self.calls.append({"model": model_id, "at": time.time(), "status": status})

    def _chance(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def _latency(self) -> float:
        low, high = self.config.latency
        with self._lock:
            return self._random.uniform(low, high) if high > 0 else 0.0

    def invoke(self, model_id: str, raw_body: bytes, headers) -> dict:
        with self._lock:
            self.invocations += 1
        delay = float(headers.get(LATENCY_HEADER) or 0) or self._latency()
        if delay:
            time.sleep(delay)
        fault = headers.get(FAULT_HEADER) or self.config.fault
        if fault:
            if fault not in FAULTS:
                raise BedrockError(400, "ValidationException", f"Unknown emulator fault {fault!r}.")
            raise BedrockError(*FAULTS[fault], extra=self._fault_extra(fault, model_id))
        if self._chance(self.config.throttle_rate):
            raise BedrockError(*FAULTS["throttle"])
        if self._chance(self.config.error_rate):
            raise BedrockError(*FAULTS["internal" if self._chance(0.5) else "unavailable"])
        if self._chance(self.config.timeout_rate):
            raise BedrockError(*FAULTS["timeout"])

        spec = spec_for_invoked_id(model_id)
        if spec is None:
            raise BedrockError(400, "ValidationException", "The provided model identifier is invalid.")
        if self.lifecycle(spec.model_id).ended():
            raise BedrockError(*END_OF_LIFE_ERROR)
        if spec.model_id in self.config.profile_only and model_id.rsplit("/", 1)[-1] == spec.model_id:
            raise BedrockError(400, "ValidationException", ON_DEMAND_REFUSED.format(model_id=model_id))
        try:
            body = json.loads(raw_body)
        except ValueError:
            raise BedrockError(
                400, "ValidationException", "Malformed input request, please reformat your input."
            ) from None
        try:
            request = validate_request(spec, bodies.read_body(spec.family, body, spec))
        except BodyInvalid as problem:
            raise BedrockError(
                400, "ValidationException", f"{problem}, please reformat your input and try again."
            ) from None
        except RequestInvalid as invalid:
            task = Task(body.get("taskType", Task.TEXT_IMAGE)) if spec.family is not Family.STABILITY else None
            details = "; ".join(
                f"{bodies.wire_path(spec.family, task, name, spec)}: {' '.join(reasons)}"
                for name, reasons in invalid.fields.items()
            )
            raise BedrockError(400, "ValidationException", f"Malformed input request: {details}") from None
        withheld = self._withheld(request, headers)
        if spec.family is Family.STABILITY:
            return self._stability_response(request, withheld)
        count = request.n
        images = [base64.b64encode(render(request, index)).decode() for index in range(count - withheld)]
        response = {"images": images}
        if withheld:
            response["error"] = FILTER_MESSAGE
        if request.task is Task.VIRTUAL_TRY_ON and request.return_mask:
            response["maskImage"] = _b64(try_on_mask_png(request))
        return response

    def lifecycle(self, model_id: str) -> ModelLifecycle:
        return self.config.lifecycles.get(model_id) or ModelLifecycle()

    def set_lifecycles(self, changes: dict[str, str]) -> None:
        """{model id: "LEGACY:2026-06-30", …}: the switch that moves a model to Legacy or past end of life."""
        parsed = {model_id: ModelLifecycle.parse(text) for model_id, text in changes.items()}
        unknown = set(parsed) - set(SPECS) - set(UNSUPPORTED_MODELS)
        if unknown:
            raise ValueError(f"Unknown model {sorted(unknown)[0]!r}.")
        with self._lock:
            self.config.lifecycles.update(parsed)

    def foundation_models(self, output_modality: str | None) -> dict:
        """ListFoundationModels' answer: every image model, Atelier's and the unsupported ones."""
        # Shape from botocore's bedrock service model (2023-04-20), operation ListFoundationModels:
        # GET /foundation-models → modelSummaries[] of FoundationModelSummary; modelLifecycle carries
        # status and the legacyTime / endOfLifeTime timestamps.
        # https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html
        if output_modality not in (None, "IMAGE"):
            return {"modelSummaries": []}
        listed = {model_id: (spec.name, _provider(model_id)) for model_id, spec in SPECS.items()} | UNSUPPORTED_MODELS
        return {
            "modelSummaries": [
                {
                    "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
                    "modelId": model_id,
                    "modelName": name,
                    "providerName": provider,
                    "inputModalities": ["TEXT", "IMAGE"],
                    "outputModalities": ["IMAGE"],
                    "responseStreamingSupported": False,
                    "customizationsSupported": [],
                    "inferenceTypesSupported": self._inference_types(model_id),
                    "modelLifecycle": self.lifecycle(model_id).as_wire(),
                }
                for model_id, (name, provider) in listed.items()
            ]
        }

    def _inference_types(self, model_id: str) -> list[str]:
        return ["INFERENCE_PROFILE"] if model_id in self.config.profile_only else ["ON_DEMAND", "INFERENCE_PROFILE"]

    def inference_profiles(self) -> dict:
        """ListInferenceProfiles' answer (GET /inference-profiles): a us., eu. and global. system
        profile per model, each naming the foundation model it routes to."""
        return {
            "inferenceProfileSummaries": [
                {
                    "inferenceProfileName": f"{prefix.upper()} {spec.name}",
                    "inferenceProfileId": f"{prefix}.{model_id}",
                    "inferenceProfileArn": f"arn:aws:bedrock:us-east-1::inference-profile/{prefix}.{model_id}",
                    "models": [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}"}],
                    "status": "ACTIVE",
                    "type": "SYSTEM_DEFINED",
                }
                for model_id, spec in SPECS.items()
                for prefix in PROFILE_PREFIXES
            ]
        }

    def _withheld(self, request, headers) -> int:
        requested = 1 if request.family is Family.STABILITY else request.n
        if headers.get(FILTER_HEADER):
            return min(requested, int(headers[FILTER_HEADER]))
        word = self.config.blocked_word
        words = (request.prompt, request.negative_prompt, request.search_prompt, request.select_prompt)
        if word and word.lower() in " ".join(text or "" for text in words).lower():
            return math.ceil(requested / 2)
        return 0

    def _stability_response(self, request, withheld: int) -> dict:
        seed = request.seed if request.seed else self._random.randint(1, 4_294_967_295)  # 0 means "pick one"
        request = request.with_seed(seed)
        if withheld:
            # Stability answers with a placeholder image and says why in finish_reasons.
            placeholder = render(request.with_seed(0), 0, request.output_format or "png")
            return {"seeds": [seed], "finish_reasons": [STABILITY_FILTER_REASON], "images": [_b64(placeholder)]}
        image = render(request, 0, request.output_format or "png")
        return {"seeds": [seed], "finish_reasons": [None], "images": [_b64(image)]}

    @staticmethod
    def _fault_extra(fault: str, model_id: str) -> dict:
        if fault == "model-error":
            return {"originalStatusCode": 500, "resourceName": model_id}
        return {}


def _provider(model_id: str) -> str:
    return {"amazon": "Amazon", "stability": "Stability AI"}.get(model_id.split(".", 1)[0], model_id.split(".", 1)[0])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AtelierBedrockEmulator/1.0"
    emulator: Emulator  # set by make_server

    def do_GET(self):
        path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
        if path == "/foundation-models":
            self._send(200, self.emulator.foundation_models((query.get("byOutputModality") or [None])[0]))
        elif path == "/inference-profiles":
            self._send(200, self.emulator.inference_profiles())
        elif self.path == "/emulator/lifecycle":
            self._send(200, self._lifecycles())
        elif self.path == "/health":
            emulator = self.emulator
            self._send(200, {"status": "ok", "emulator": True, "invocations": emulator.invocations,
                             "in_flight": emulator.in_flight, "peak_in_flight": emulator.peak_in_flight})  # fmt: skip
        elif self.path == "/emulator/calls":
            self._send(200, {"calls": list(self.emulator.calls)})
        elif self.path == "/emulator/config":
            self._send(200, self._config())
        else:
            self._send(404, {"message": "Not found"}, error_type="UnknownOperationException")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length)
        if self.path == "/emulator/lifecycle":
            try:
                self.emulator.set_lifecycles(json.loads(raw_body or b"{}"))
            except (ValueError, TypeError, AttributeError) as error:
                self._send(400, {"message": str(error)}, error_type="ValidationException")
                return
            self._send(200, self._lifecycles())
            return
        if self.path in ("/emulator/config", "/emulator/reset"):
            self._control(self.path, raw_body)
            return
        match = INVOKE_PATH.match(self.path.split("?", 1)[0])
        if not match:
            self._send(404, {"message": "Not found"}, error_type="UnknownOperationException")
            return
        model_id = unquote(match["model_id"])
        started = time.monotonic()
        try:
            with self.emulator.counting_in_flight():
                payload = self.emulator.invoke(model_id, raw_body, self.headers)
        except BedrockError as error:
            logger.info("%s %s → %s", model_id, error.code, error.message)
            self.emulator.record(model_id, error.status)
            self._send(error.status, {"message": error.message, **error.extra}, error_type=error.code)
            return
        except Exception:
            logger.exception("emulator failure")
            self._send(500, {"message": "The emulator failed."}, error_type="InternalServerException")
            return
        self.emulator.record(model_id, 200)
        latency_ms = int((time.monotonic() - started) * 1000)
        self._send(200, payload, extra_headers={"X-Amzn-Bedrock-Invocation-Latency": str(latency_ms)})

    def _lifecycles(self) -> dict:
        return {model_id: lifecycle.as_wire() for model_id, lifecycle in self.emulator.config.lifecycles.items()}

    def _control(self, path: str, raw_body: bytes) -> None:
        """Test hooks: change the fault settings of a running emulator, or reset it."""
        if path == "/emulator/reset":
            self.emulator.reset()
        else:
            try:
                self.emulator.config.update(json.loads(raw_body or b"{}"))
            except (ValueError, TypeError) as error:
                self._send(400, {"message": str(error)}, error_type="ValidationException")
                return
        self._send(200, self._config())

    def _config(self) -> dict:
        return {name: value for name, value in dataclasses.asdict(self.emulator.config).items() if name != "lifecycles"}

    def _send(self, status: int, payload: dict, *, error_type: str | None = None, extra_headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        logger.debug("%s " + format, self.address_string(), *args)


class EmulatorServer(ThreadingHTTPServer):
    request_queue_size = 256  # as a real endpoint, dozens of clients connect at once (http.server's is 5)


def make_server(host: str, port: int, config: EmulatorConfig) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"emulator": Emulator(config)})
    server = EmulatorServer((host, port), handler)
    server.daemon_threads = True
    return server

"""Logs say which request, tenant and job they belong to. Context variables hold the ids (set by
config.middleware.RequestIdMiddleware for a request, by the Celery signals below for a task), a
filter copies them onto every record, and LOG_FORMAT picks the output: `json` (one object per line,
for a log pipeline) or `plain` (for people)."""

import contextvars
import datetime
import json
import logging

CONTEXT_FIELDS = ("request_id", "tenant", "job_id")
_context = {name: contextvars.ContextVar(f"atelier_log_{name}", default=None) for name in CONTEXT_FIELDS}

# Attributes every LogRecord has: anything else on a record came from `extra=` and is written too.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "context"}


def bind(**values) -> dict[str, contextvars.Token]:
    """Set context ids (request_id, tenant, job_id) for what runs next here; returns tokens for unbind."""
    return {name: _context[name].set(value) for name, value in values.items()}


def unbind(tokens: dict[str, contextvars.Token]) -> None:
    for name, token in tokens.items():
        _context[name].reset(token)


def current() -> dict[str, str]:
    """The context ids that are set."""
    return {name: var.get() for name, var in _context.items() if var.get() is not None}


class ContextFilter(logging.Filter):
    """Copies the context ids onto each record (None when unknown), and `context`: them as text for plain logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = current()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, known.get(name))
        parts = [f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name)]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, the context ids that are known,
    whatever `extra=` added, and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None):
                entry[name] = getattr(record, name)
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in CONTEXT_FIELDS and not name.startswith("_"):
                entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


LOG_FORMATS = ("json", "plain")


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting: one console handler (stderr) in the chosen format, context ids on every record."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {LOG_FORMATS}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.logging.ContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"},
            "json": {"()": "config.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own loggers reach the console once, through root.
        "loggers": {"django": {"handlers": [], "propagate": True}},
    }


# --- Celery: the worker logs through the same configuration, and a task on a job carries its ids ------------


def _configure_worker_logging(**kwargs) -> None:
    """Connected to celery's setup_logging: the worker keeps Django's LOGGING instead of its own format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def _first_parameter(task) -> str | None:
    import inspect

    try:
        parameters = [p for p in inspect.signature(task.run).parameters if p != "self"]
    except (TypeError, ValueError):
        return None
    return parameters[0] if parameters else None


_task_tokens: dict[str, dict[str, contextvars.Token]] = {}  # task id → what _task_ended resets


def _task_started(task_id=None, task=None, args=None, kwargs=None, **_) -> None:
    """A task whose first argument is `job_id` logs with that job's id and its tenant's slug."""
    if task is None or _first_parameter(task) != "job_id":
        return
    job_id = (kwargs or {}).get("job_id") or (args[0] if args else None)
    if not job_id:
        return
    tenant = None
    try:
        from generation.models import GenerationJob

        tenant = GenerationJob.objects.filter(pk=job_id).values_list("tenant__slug", flat=True).first()
    except Exception:  # noqa: BLE001 — a log label must never stop the task; the task reports its own errors
        tenant = None
    _task_tokens[task_id] = bind(job_id=str(job_id), tenant=tenant)


def _task_ended(task_id=None, **_) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        try:
            unbind(tokens)
        except ValueError:  # set in another context (a thread pool): clear instead
            bind(job_id=None, tenant=None)


def connect_celery_signals() -> None:
    from celery import signals

    signals.setup_logging.connect(_configure_worker_logging, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_ended, weak=False)

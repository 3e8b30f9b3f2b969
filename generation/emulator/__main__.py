"""python -m generation.emulator --port 8900 [--throttle-rate 0.2 --error-rate 0.05 --latency 0.1-0.5
--lifecycle amazon.titan-image-generator-v2:0=LEGACY:2026-06-30 --profile-only MODEL ...]"""

import argparse
import logging
import signal
import sys

from .server import EmulatorConfig, ModelLifecycle, make_server


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def _lifecycle(text: str) -> tuple[str, ModelLifecycle]:
    model_id, _, lifecycle = text.partition("=")
    try:
        return model_id, ModelLifecycle.parse(lifecycle)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m generation.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of calls throttled (0–1)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of calls answered 500/503 (0–1)")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of calls answered ModelTimeout (0–1)")
    parser.add_argument("--latency", type=_latency, default=(0.0, 0.0), help="seconds, e.g. 0.2 or 0.1-0.5")
    parser.add_argument("--blocked-word", default="forbidden", help="prompts containing it get images withheld")
    parser.add_argument("--seed", type=int, default=None, help="repeatable random faults")
    parser.add_argument(
        "--lifecycle", type=_lifecycle, action="append", default=[],
        help="MODEL=ACTIVE|LEGACY[:[LEGACY_DATE:]END_OF_LIFE_DATE] as ListFoundationModels reports it; "
        "past end of life InvokeModel refuses the model (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--profile-only", action="append", default=[], metavar="MODEL",
        help="serve MODEL only through its inference profiles (us., eu., global.): the bare id is refused on demand",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="emulator: %(message)s")

    config = EmulatorConfig(
        throttle_rate=args.throttle_rate,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        latency=args.latency,
        blocked_word=args.blocked_word,
        seed=args.seed,
        lifecycles=dict(args.lifecycle),
        profile_only=tuple(args.profile_only),
    )
    server = make_server(args.host, args.port, config)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Bedrock emulator listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

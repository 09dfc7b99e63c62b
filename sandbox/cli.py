"""``secondloop sandbox``: run the sandbox server."""

from __future__ import annotations

import argparse
import logging

from sandbox.config import SandboxConfig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="secondloop sandbox", description="Run a local Stripe sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--seed",
        default=None,
        help="make ids and keys deterministic; a scenario name (demo, demo-small, demo-large) "
        "also seeds businesses with customers and 120+ days of billing history",
    )
    parser.add_argument(
        "--seed-customers", type=int, default=None, metavar="N", help="customers in the scenario"
    )
    parser.add_argument("--state", default=None, metavar="FILE", help="persist state to FILE")
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=None,
        metavar="X",
        help="advance every test clock X times faster than real time",
    )
    parser.add_argument(
        "--clock-advance-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="with --clock-speed: real seconds between two advances of a clock (default 5)",
    )
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/second per key")
    parser.add_argument("--frozen-time", type=int, default=None, help="freeze the sandbox clock")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        seed=args.seed,
        state_file=args.state,
        clock_speed=args.clock_speed,
        clock_advance_interval=args.clock_advance_interval,
        rate_limit=args.rate_limit,
        frozen_time=args.frozen_time,
        public_url=f"http://{args.host}:{args.port}",
    )


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from sandbox.app import create_app

    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_app(config_from_args(args))
    state = app.state.sandbox
    from sandbox.seed import is_scenario, seed_scenario, seeded_summary

    if is_scenario(args.seed) and seeded_summary(state) is None:
        summary = seed_scenario(state, args.seed, customers=args.seed_customers)
        for business in summary.businesses:
            print(
                f"  seeded {business.name}: {business.account} ({business.customers} customers, "
                f"clock {business.test_clock}) key {business.secret_key}",
                flush=True,
            )
        print("  seed summary:     GET /_sandbox/seed", flush=True)
    print(f"Stripe sandbox on http://{args.host}:{args.port}", flush=True)
    print(f"  platform account: {state.platform_id}", flush=True)
    print(f"  secret key:       {state.platform.secret_key}", flush=True)
    print(f"  Connect client id: {state.client_id}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

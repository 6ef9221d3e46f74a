"""``python -m odsc_llm.testing``: run a local model deployment in the foreground."""

from __future__ import annotations

import argparse
import sys

from ._local import serve_forever


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m odsc_llm.testing",
        description=(
            "Run a local stand-in for an OCI model deployment: it checks OCI request "
            "signatures and answers like vLLM (or forwards to --upstream)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks a free one)")
    parser.add_argument(
        "--upstream",
        default=None,
        help="gateway mode: forward to this OpenAI-compatible server, e.g. http://127.0.0.1:8000",
    )
    parser.add_argument(
        "--token-delay", type=float, default=0.02, help="seconds between streamed tokens (0.02)"
    )
    parser.add_argument("--ocid", default=None, help="the deployment OCID to answer to")
    parser.add_argument(
        "--config-dir", default=None, help="where to write the OCI config and key (a temp dir)"
    )
    args = parser.parse_args(argv)
    serve_forever(
        host=args.host,
        port=args.port,
        upstream=args.upstream,
        token_delay=args.token_delay,
        ocid=args.ocid,
        config_dir=args.config_dir,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

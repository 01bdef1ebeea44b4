"""``python -m sim``: the simulators in the foreground, as ``statewright sim`` runs them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from sim.cli import add_arguments, run


def main() -> None:
    """Parse the options, run until interrupted and exit with the command's status."""
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Run the EKS, STS and Kubernetes simulators on loopback until interrupted.",
    )
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        status = asyncio.run(run(args))
    except KeyboardInterrupt:
        # Ctrl-C before the signal handlers were installed: nothing to clean up yet.
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main()

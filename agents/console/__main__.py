"""``python -m agents.console [--prefix P]``: run the gateway until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from agents.console.app import serve
from config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agents.console", description=__doc__)
    parser.add_argument("--prefix", default="", help="the support system's topic prefix")
    args = parser.parse_args()
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, args.prefix))


if __name__ == "__main__":
    main()

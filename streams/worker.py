"""Worker processes: load an app by import path, run it until SIGTERM/SIGINT, drain, exit.

``--workers N`` starts N single-worker processes in one consumer group (the app id); the
partitions are shared between them by the group protocol.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from config import Settings
from streams import logs, tracing
from streams.app import App
from streams.errors import ConfigurationError
from streams.web import WebServer

log = logging.getLogger("agentstream.worker")
ROOT = Path(__file__).resolve().parents[1]

#: Beyond the agents' drain (``limits.shutdown_timeout``): the final commit, leaving the
#: group and stopping the producer.
STOP_GRACE = 5.0


def load_app(path: str, app_dir: Path) -> App:
    """Import ``module:attribute`` (an :class:`App`, or a function returning one)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(f"APP must look like 'package.module:app', got {path!r}")
    for directory in (str(app_dir.resolve()), str(Path.cwd())):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except ImportError as e:
        raise ConfigurationError(f"cannot load {path!r}: {e}{_clash(e, app_dir)}") from e
    except AttributeError as e:
        raise ConfigurationError(f"cannot load {path!r}: {e}") from e
    app = target() if callable(target) and not isinstance(target, App) else target
    if not isinstance(app, App):
        raise ConfigurationError(f"{path!r} is a {type(app).__name__}, not a streams.App")
    return app


#: The top-level packages agentstream installs; an app's module of the same name is
#: shadowed by them.
OUR_PACKAGES = ("agents", "config", "schemas", "streams")


def _clash(error: ImportError, app_dir: Path) -> str:
    """Why an import failed when an app has a module named like one of our packages."""
    top = (error.name or "").partition(".")[0]
    if top not in OUR_PACKAGES:
        return ""
    for directory in (app_dir.resolve(), Path.cwd()):
        for candidate in (directory / f"{top}.py", directory / top):
            if candidate.exists() and candidate.resolve() != (ROOT / top).resolve():
                return (
                    f"; {candidate} has the name of agentstream's own top-level package "
                    f"{top!r}, which is imported first: rename yours (for example "
                    f"myapp_{top})"
                )
    return ""


def run(path: str, app_dir: Path, workers: int) -> int:
    """Run the app in this process, or supervise ``workers`` child processes."""
    # Until the event loop takes over, SIGTERM means: nothing started, exit cleanly.
    signal.signal(signal.SIGTERM, _exit_before_start)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.log_libraries)
    if workers > 1:
        return _supervise(path, app_dir, workers, settings.web_port)
    app = load_app(path, app_dir)
    app.configure(settings)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(serve(app))


def _exit_before_start(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def tune_gc(settings: Settings) -> None:
    """Freeze what start-up allocated and collect young objects less often."""
    if settings.gc_threshold:
        gc.collect()
        gc.freeze()
        gc.set_threshold(settings.gc_threshold, 50, 100)


async def serve(app: App) -> int:
    """Run ``app`` until SIGTERM/SIGINT or a fatal error, then drain within
    ``limits.shutdown_timeout``; a second signal, or a drain past its deadline, exits at
    once (what was not committed is handled again by the next owner)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            _exit_now("second signal while draining")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    web = WebServer(app, app.settings.web_port)
    try:
        await web.start()  # first: a port in use stops the worker before it joins the group
    except OSError as e:
        log.error("worker %d: %s", os.getpid(), e)  # noqa: TRY400 - a clear message, no trace
        return 1
    stopping: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    starting: asyncio.Future[object] = asyncio.ensure_future(app.start())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # stopped while joining the group: nothing handled yet
        starting.cancel()
        await asyncio.wait([starting])
    else:
        starting.result()
        tune_gc(app.settings)
        names = ", ".join(f"{s.name}<-{s.mailbox}" for s in app.specs)
        log.info("worker %d ready: app %s, agents %s", os.getpid(), app.id, names)
        assert app.crashed is not None  # noqa: S101 - set by start()
        crashed: asyncio.Future[object] = asyncio.ensure_future(app.crashed)
        await asyncio.wait([stopping, crashed], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    failed = app.failure() is not None
    log.info("worker %d %s: draining", os.getpid(), "crashed" if failed else "stopping")
    timeout = app.settings.limits.shutdown_timeout
    try:
        async with asyncio.timeout(timeout + STOP_GRACE):
            await app.stop()
    except TimeoutError:
        _exit_now(f"stopping took longer than {timeout + STOP_GRACE:.0f}s")
    await web.stop()
    tracing.shutdown()  # flush the spans still queued for export
    log.info("worker %d stopped", os.getpid())
    return 1 if failed else 0


def _exit_now(why: str) -> None:
    """Leave without draining: the group reassigns the partitions after the session
    timeout and their uncommitted events are handled again."""
    log.error("worker %d exits without draining: %s", os.getpid(), why)
    logging.shutdown()
    os._exit(1)


def _supervise(path: str, app_dir: Path, workers: int, web_port: int) -> int:
    """Child ``i`` serves its endpoints on ``web_port + i`` (each on a free port if 0)."""
    argv = [sys.executable, "-m", "streams", "worker", path, "--app-dir", str(app_dir)]
    children = [
        subprocess.Popen(  # noqa: S603 - our own argv
            argv, env={**os.environ, "AGENTSTREAM_WEB_PORT": str(web_port and web_port + i)}
        )
        for i in range(workers)
    ]

    def forward(sig: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)

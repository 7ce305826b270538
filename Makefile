# make demo : set up the environment and run the toy demo (train, test, infer)
# make test : set up the environment and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
MIM := $(VENV)/bin/mim
DEMO_CFG := configs/toy/sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py
DEMO_DIR := work_dirs/demo
DEMO_CKPT := $(DEMO_DIR)/iter_800.pth
DEMO_DATA := data/toy_city
DEMO_IMG := $(DEMO_DATA)/leftImg8bit/test/toytown/toytown_000000_000060_leftImg8bit.png

.PHONY: install test demo lint clean

install:
	bash scripts/install_env.sh $(VENV)

test: install
	$(PY) -m pytest tests

demo: install
	@test -d $(DEMO_DATA) || $(PY) tools/dataset_converters/toy_driving.py $(DEMO_DATA)
	PATH=$(abspath $(VENV))/bin:$$PATH $(MIM) train sfseg $(DEMO_CFG) --work-dir $(DEMO_DIR)
	PATH=$(abspath $(VENV))/bin:$$PATH $(MIM) test sfseg $(DEMO_CFG) --checkpoint $(DEMO_CKPT) --work-dir $(DEMO_DIR)/test
	$(PY) tools/segment.py $(DEMO_IMG) $(DEMO_CFG) $(DEMO_CKPT) --out-dir $(DEMO_DIR)/overlay
	$(PY) tools/analysis_tools/visualize_flow.py $(DEMO_IMG) $(DEMO_CFG) $(DEMO_CKPT) --out-file $(DEMO_DIR)/flows.png
	$(PY) demo/summary.py $(DEMO_CFG) $(DEMO_CKPT) --test-dir $(DEMO_DIR)/test --overlay $(DEMO_DIR)/overlay/vis/$(notdir $(DEMO_IMG)) --flows $(DEMO_DIR)/flows.png

lint:
	$(PY) -m ruff check sfseg tools tests configs demo setup.py
	$(PY) -m ruff format --check sfseg tools tests configs demo setup.py

clean:
	rm -rf work_dirs build sfseg.egg-info sfseg/.mim

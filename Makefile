# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit install browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ecs-gitops demo

lint: $(STAMP)
	$(BIN)/ruff check controller tests benchmarks
	$(BIN)/ruff format --check controller tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

# The status page's test drives a real headless Chromium. On Debian (apt-get), the
# distribution's chromium and chromium-driver are installed when they are not on PATH;
# elsewhere, or when the install fails, nothing happens here and that test says what to do.
browser:
	@if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 \
	    && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing chromium and chromium-driver for the status page test"; \
	  { $$sudo apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium chromium-driver; } \
	  || echo "could not install chromium; the status page test will fail and say why"; \
	fi

# three workers on two cores: most tests wait on local-aws's simulated deployments, not the CPU
unit: $(STAMP) browser
	$(BIN)/pytest -q -n 3 tests

test: lint unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

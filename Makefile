# enerdiag — the two set-up commands of the README: `make demo` and `make test`.
# Both install what they need (Debian packages with apt-get as root, Python packages into .venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEBS   := mosquitto mosquitto-clients influxdb postgresql curl iproute2 procps \
          fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils chromium caddy

.PHONY: setup system-deps test lint demo services-up services-down clean

setup: system-deps $(VENV)/.installed

system-deps:
	@dpkg -s $(DEBS) >/dev/null 2>&1 || { \
	  echo "installing Debian packages: $(DEBS)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBS); }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -q

demo: setup
	$(BIN)/enerdiag services up
	$(BIN)/enerdiag demo

services-up: setup
	$(BIN)/enerdiag services up

services-down:
	$(BIN)/enerdiag services down

clean:
	-$(BIN)/enerdiag services down
	rm -rf .run

# windvane — every target installs what it needs and is safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: help setup venv system-deps npm-deps docs kafka-jars consumers demo test test-faults test-unit lint typecheck check eval bench bench-articles bench-quotes bench-scaling bench-domain bench-transactions bench-signal-bytes kafka-up kafka-down clean

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $(STAMP)

venv: $(STAMP) ## Python venv with windvane and its dev tools

# command:Debian package — the outside peers the tests use (kcat, promtool, Alertmanager,
# Chromium and its driver), Maven for the broker jars, Node.js and npm for the AsyncAPI parser.
DEBIAN_DEPS := mvn:maven kcat:kcat promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
	chromium:chromium chromedriver:chromium-driver openssl:openssl
NODE_DEPS := node:nodejs npm:npm

# $(call apt_missing,PAIRS): apt-get install the package of each command:package pair whose
# command is missing (nothing when all are there)
define apt_missing
@missing=""; for pair in $(1); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
endef

system-deps: ## Debian packages (kcat, prometheus, alertmanager, chromium, maven, node); Java 17+ check
	@command -v java >/dev/null || { echo "Java 17+ is required (apt-get install openjdk-17-jre-headless)"; exit 1; }
	$(call apt_missing,$(DEBIAN_DEPS) $(NODE_DEPS))

# The official AsyncAPI parser, pinned with its whole tree (tests/asyncapi/package-lock.json),
# in .windvane/npm: tests/unit/test_asyncapi.py validates asyncapi.yaml with it.
NPM_DIR := .windvane/npm
NPM_LOCK := tests/asyncapi/package.json tests/asyncapi/package-lock.json
NPM_STAMP := $(NPM_DIR)/.installed

$(NPM_STAMP): $(NPM_LOCK)
	$(call apt_missing,$(NODE_DEPS))
	mkdir -p $(NPM_DIR)
	cp $(NPM_LOCK) $(NPM_DIR)/
	cd $(NPM_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

npm-deps: $(NPM_STAMP) ## The AsyncAPI parser (npm, pinned) the contract tests use

docs: venv npm-deps ## Render asyncapi.yaml's view (docs/topics.md) and the README's topology picture
	node tests/asyncapi/asyncapi.mjs --markdown $(NPM_DIR) asyncapi.yaml > docs/topics.md.new \
		|| { rm -f docs/topics.md.new; exit 1; }
	mv docs/topics.md.new docs/topics.md
	@echo "docs/topics.md: every topic, its key, value schema, headers and who reads and writes it"
	env -u WINDVANE_APP_ID -u WINDVANE_TOPIC_PREFIX -u PROCESSING_GUARANTEE WINDVANE_STORE=memory:// \
		WINDVANE_DATA_DIR=$$(mktemp -d) $(BIN)/windvane topology --format mermaid --readme README.md

kafka-jars: venv ## Resolve the Kafka broker jars from Maven Central (once)
	$(BIN)/python -c "from streams.tools.kafka_local import LocalBroker; LocalBroker.from_env().ensure_jars()"

# The Java example consumer (examples/consumers/java): kafka-clients from Maven Central, built
# once and again only when its pom or sources change (the jars stay in the local repository).
JAVA_CONSUMER := examples/consumers/java/target/windvane-alerts-consumer-1.jar
$(JAVA_CONSUMER): examples/consumers/java/pom.xml $(shell find examples/consumers/java/src -name '*.java')
	$(call apt_missing,mvn:maven)
	mvn -q -f examples/consumers/java/pom.xml package
	@touch $@

consumers: $(JAVA_CONSUMER) ## Build the Java example consumer (tests/e2e/test_example_consumers.py runs both)

setup: venv system-deps kafka-jars npm-deps consumers ## Everything the demo and the tests need

demo: setup ## Start Kafka and a worker, replay HSTECH and HSI, print the alerts
	$(BIN)/windvane demo

test: setup ## Run every test (unit, agents, integration, e2e, quick fault scenarios) against a broker it starts
	-rm -f test-output/faults.txt
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; $(BIN)/python -m tests.faults.table; exit $$status

test-faults: setup ## Fault scenarios at full size (SIGKILL/restart, rebalance, broker loss and stall, ...), their table at the end
	-rm -f test-output/faults.txt
	FAULTS_FULL=$${FAULTS_FULL:-1} $(BIN)/pytest -m faults -o timeout=3000 $(PYTEST_ARGS); status=$$?; \
	$(BIN)/python -m tests.faults.table; exit $$status

test-unit: venv npm-deps ## Only the pure and agent tests (no broker)
	$(BIN)/pytest -m "unit or agents" $(PYTEST_ARGS)

eval: venv ## Score article extraction, English and Chinese, against the hand labels and held-out sets (samples/articles)
	$(BIN)/windvane eval

bench: bench-articles bench-quotes bench-scaling bench-domain bench-transactions bench-signal-bytes ## All benchmarks (figures and ratios in bench/out/)

bench-articles: venv ## Article extraction: windvane vs quantulum3 and vs a baseline commit, English and Chinese, speed ratios and F1
	$(BIN)/python bench/articles.py

bench-scaling: setup ## windvane from 100 to 10,000 symbols: throughput, RSS, state bytes, restore time
	$(BIN)/python bench/scaling.py $(SCALING_ARGS)

bench-transactions: setup ## Kafka transactions: a commit round as one transaction per task (exactly_once) vs one per worker (exactly_once_v2), ratio in one run
	$(BIN)/python bench/transactions.py

bench-domain: venv ## Quote path CPU per record in-process (Task.process, no Kafka) vs a baseline commit; sha256 of the outputs must match (DOMAIN_ARGS="--baseline REV")
	$(BIN)/python bench/domain.py $(DOMAIN_ARGS)

bench-signal-bytes: venv ## quotes.signals record bytes (value, CloudEvents headers), WINDVANE_SIGNAL_SHAPE full vs compact, real histories; every compact value expanded and checked
	$(BIN)/python bench/signal_bytes.py $(SIGNAL_BYTES_ARGS)

bench-quotes: setup ## Quote path: windvane vs raw pipe, Quix Streams, Kafka Streams (BENCH_ARGS="--records 100000")
	$(BIN)/python bench/quotes.py $(BENCH_ARGS)

lint: venv ## ruff lint and format check
	$(BIN)/ruff check streams tests bench examples
	$(BIN)/ruff format --check streams tests bench examples

typecheck: venv ## mypy on streams/
	$(BIN)/mypy

check: lint typecheck test ## What CI runs: lint, types, tests

kafka-up: setup ## Start the local broker (127.0.0.1:9092)
	$(BIN)/windvane kafka up

kafka-down: venv ## Stop the local broker
	$(BIN)/windvane kafka down

clean: ## Stop the broker and remove local state (.windvane)
	-$(BIN)/windvane kafka down
	rm -rf .windvane .pytest_cache .mypy_cache .ruff_cache

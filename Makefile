# ixserver — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
# Python keeps the bytecode it compiles (__pycache__/, ignored by git), even where the environment
# says not to (PYTHONDONTWRITEBYTECODE, set on the project machine): without it every process
# compiled ixserver's modules from source again, ~0.5 s of CPU for each server, writer, CLI
# command and test process started, and pytest rewrote the test modules in each of its processes.
unexport PYTHONDONTWRITEBYTECODE
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install tools bench-tools run test fuzz bench bench-compare clean clean-data lock

# The venv is (re)built when missing or when pyproject.toml or the lock file changed; every
# dependency at the version requirements.lock pins (reproducible installs).
$(BIN)/ixserver: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing ixserver and its dependencies into $(VENV) (a minute or two the first time) ..."
	$(BIN)/python -m pip install --progress-bar on -c requirements.lock -e '.[test]'
	touch $(BIN)/ixserver

# requirements.lock again from what the venv holds (after changing pyproject.toml's dependencies).
lock:
	$(BIN)/python -m pip install --upgrade -e '.[test]'
	(echo "# Every dependency's version, as \`make install\` installs them (pip's constraints: pyproject.toml"; \
	 echo "# says which ranges are allowed, this file which versions are used). Made by \`make lock\`."; \
	 $(BIN)/python -m pip freeze --exclude-editable) > requirements.lock

install: $(BIN)/ixserver tools

# The tests read QR symbols back with zbarimg and PDFs with pdftotext (Debian's zbar-tools and
# poppler-utils), run the cluster behind HAProxy (haproxy), and open the web console and the
# public pages in Chromium (Debian's chromium, driven by the playwright package: never
# `playwright install`): installed when missing and apt-get can (root); else the tests say what
# is missing (and are skipped).
TOOLS := zbarimg:zbar-tools pdftotext:poppler-utils haproxy:haproxy chromium:chromium
# The benchmarks load the server with wrk (Debian's wrk), installed the same way.
BENCH_TOOLS := wrk:wrk
define install_missing
	@missing=""; for t in $(1); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; (apt-get update -qq && apt-get install -y -qq $$missing) >/dev/null; \
	  else echo "missing:$$missing (apt-get install$$missing)"; fi; \
	fi
endef
tools:
	$(call install_missing,$(TOOLS))

bench-tools:
	$(call install_missing,$(BENCH_TOOLS))

run: install
	IXSERVER_SANDBOX=$${IXSERVER_SANDBOX:-1} $(BIN)/ixserver serve --host $(HOST) --port $(PORT) --demo

# The suite in two parts: most of it in TEST_PROCESSES processes (its tests wait on servers,
# subprocesses and fsync more than on the CPU), then the slow proofs (races, kills, thousands of
# connections, a saturated CPU) one after another with the machine to themselves.
# mypy checks the types beside the parallel part (without its cache, ~11 s of one core while the
# other would wait): what it says is printed after that part, and its errors fail make test.
TEST_PROCESSES ?= 3
test: install
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/ruff format --check src tests bench deploy
	@echo "$(BIN)/mypy (beside the tests; its report follows them)"
	@types=$$(mktemp); $(BIN)/mypy > $$types 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder -m "not slow"; tested=$$?; \
	wait $$mypy; typed=$$?; echo "$(BIN)/mypy:"; cat $$types; rm -f $$types; \
	[ $$tested -eq 0 ] && [ $$typed -eq 0 ]
	$(BIN)/python -m pytest -m slow

# The fuzz test of `make test` with many more examples per operation (IXSERVER_FUZZ_EXAMPLES);
# on PostgreSQL too when IXSERVER_TEST_DATABASE_URL is set.
fuzz: install
	IXSERVER_FUZZ_EXAMPLES=$${IXSERVER_FUZZ_EXAMPLES:-300} $(BIN)/python -m pytest tests/api/test_fuzz.py

bench: install bench-tools
	$(BIN)/python bench/run.py
	$(BIN)/python bench/writer_alone.py
	$(BIN)/python bench/saft.py
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/renders.py

# This tree against REF (a commit, tag or branch) in paired runs: make bench-compare REF=main
bench-compare: install bench-tools
	@test -n "$(REF)" || { echo "usage: make bench-compare REF=<commit>"; exit 2; }
	$(BIN)/python bench/compare.py $(REF)

# What `make install` and the tests made; never the data (./var: the database, the signing key,
# the secret key, the seal journal): `make clean-data` deletes that, after asking.
clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info

clean-data:
	@printf 'This deletes ./var: the database, the signing key, the secret key and the seal journal.\nType "delete ./var" to go on: '; \
	read answer; if [ "$$answer" = "delete ./var" ]; then rm -rf var && echo "./var deleted"; else echo "nothing deleted"; exit 1; fi

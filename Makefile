# Two commands do all the set-up: `make run` and `make test`.
# .venv is (re)built whenever requirements.txt is newer than it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lessons browser clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

# Browser tests need Debian's chromium; install it when we are root and it is missing
# (tests skip with a visible reason when it cannot be had).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped"; }

test: $(STAMP) browser
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench step_rate
	$(PY) -m bench metric_cost

lessons: $(STAMP)
	$(PY) -m bench lessons

clean:
	rm -rf $(VENV) .pytest_cache

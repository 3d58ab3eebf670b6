# The README's two commands: `make run` starts the bot, `make test` runs every check.
# Both set up what they need on a fresh Debian/Ubuntu machine with Python >= 3.11:
# a virtual environment in .venv with the pinned dependencies, and ffmpeg (voice notes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)

.PHONY: run test check lint bench ffmpeg messages

run: $(STAMP) ffmpeg
	$(BIN)/python -m bot

check: $(STAMP)
	$(BIN)/python -m bot check

test: $(STAMP) ffmpeg lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) ffmpeg
	$(BIN)/python -m bench
	$(BIN)/python -m bench.render_bench
	$(BIN)/python -m bench.voice_bench
	$(BIN)/python -m bench.store_bench

# After changing the bot's strings: the template from the code, every catalog brought up to date
# (new strings empty, for translators; tests fail until they are translated).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --add-comments=Translators: \
	  --sort-output --no-wrap --no-location --omit-header -o bot/locales/messages.pot bot
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -D messages \
	  --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  echo "Installing ffmpeg (voice notes need it)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg; }

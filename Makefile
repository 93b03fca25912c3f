# churnguard: every target calls a script in scripts/ (readable, runnable by hand).
.PHONY: install test up down status lint bench clean scale-up scale-down

VENV := .venv
STAMP := $(VENV)/.installed-stamp

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt requirements/*.txt scripts/install.sh
	bash scripts/install.sh
	touch $(STAMP)

test: install
	bash scripts/test.sh

up: install
	bash scripts/up.sh

scale-up: install
	bash scripts/scale.sh up

scale-down:
	bash scripts/scale.sh down

status:
	.venv/bin/python scripts/stack.py status

down:
	bash scripts/down.sh

lint: install
	$(VENV)/bin/ruff check services tests bench scripts
	$(VENV)/bin/mypy services scripts

bench: install
	bash scripts/bench.sh

clean: down
	rm -rf var $(VENV)

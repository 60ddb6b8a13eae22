# guestflow — the README's commands. Every target runs the idempotent
# set-up first (system packages, libguestfs binding, Maven build).
.PHONY: setup build demo test clean help

help:
	@echo "make demo   inspect a sample guest image the project builds itself"
	@echo "make test   run the whole test suite (real libguestfs, real images)"
	@echo "make build  set up and build bin/guestflow's jar"
	@echo "make clean  remove build output (keeps ~/.cache/guestflow)"

setup:
	scripts/setup --no-build

build:
	scripts/setup

demo: build
	scripts/demo

test: setup
	mvn -B install

clean:
	mvn -q -B clean

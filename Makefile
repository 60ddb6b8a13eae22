# guestflow — the README's commands. Every target runs the idempotent
# set-up first (system packages, libguestfs binding, Maven build).
.PHONY: setup build demo test check oracles clean help

help:
	@echo "make demo   inspect a sample guest image the project builds itself"
	@echo "make test   run the whole test suite (real libguestfs, real images)"
	@echo "make check  the fast inner loop: unit tests and broker tests, no appliance"
	@echo "make oracles  run the virt tools on fresh fixtures and rewrite the golden files"
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

# unit tests and the tests that start no appliance (tag "appliance" excluded)
check: setup
	mvn -B install -Dguestflow.test.excludedGroups=oracles,appliance

# the virt tools' outputs on fresh fixtures of the current recipes, written to
# tests/src/test/resources/oracles/ (review and commit them); one tool:
# make oracles ORACLES=virtResize
oracles: setup
	mvn -B install -DskipTests
	mvn -B verify -pl tests -Dguestflow.test.excludedGroups= -Dgroups=oracles \
	    -Dtest='RegenerateOracles$(if $(ORACLES),#$(ORACLES))' -Dsurefire.failIfNoSpecifiedTests=false

clean:
	mvn -q -B clean

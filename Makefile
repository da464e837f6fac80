# Stardust — the commands a newcomer needs:
#
#   make demo    set up what is missing, build, run the example job
#   make test    set up what is missing, build, run every test
#
# Also: make build | build-asan | format | format-check | clean
#       make bench | bench-smoke (bench/bench.mk)
# Variables: BUILD (build/release), ASAN_BUILD (build/asan), JOBS (2).

BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= 2

# Sub-makes (CMake's) need not announce every directory they enter.
MAKEFLAGS += --no-print-directory

.PHONY: all setup build build-asan test test-quick demo format format-check clean

all: build

setup:
	@deploy/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSD_SANITIZE=ON \
		-DSD_BUILD_METAL=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

# Every test: format check, the whole suite, then the suite again under
# ASan+UBSan (QEMU boots are not repeated there: the image is freestanding).
test: build build-asan
	@tests/run.sh $(BUILD) $(ASAN_BUILD)

# The release suite alone, for a quick loop while developing.
test-quick: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: build
	@examples/demo.sh $(BUILD)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')

format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: clean"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

-include bench/bench.mk

# The chaos harness (tests/chaos/README.md): SEEDS seeded runs from CHAOS_FIRST,
# each a local cluster, a job and one or two injected faults; a summary table.
SEEDS       ?= 10
CHAOS_FIRST ?= 1

.PHONY: chaos
chaos: build
	@tests/chaos/run_seeds.sh $(BUILD) $(SEEDS) $(CHAOS_FIRST)

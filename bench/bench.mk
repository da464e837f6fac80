# bench/bench.mk — the benchmark targets (included by the top Makefile).
#
#   make bench        install missing peers, generate the inputs (100 MB words,
#                     10 M events), run every workload 5 times side by side with
#                     the peers, write build/bench/results.md and bench.png, and
#                     copy them into docs/performance.md and docs/img/bench.png
#   make bench-smoke  tiny inputs, one run, fast peers only, nothing installed;
#                     fails when any output disagrees with the C baseline
#
# Variables: BENCH_OUT (build/bench), BENCH_RUNS (5).

BENCH_OUT  ?= build/bench
BENCH_RUNS ?= 5

.PHONY: bench bench-smoke

bench: build
	@bench/run.sh --build $(BUILD) --out $(BENCH_OUT) --runs $(BENCH_RUNS) --publish

bench-smoke: build
	@bench/run.sh --smoke --build $(BUILD) --out $(BENCH_OUT)/smoke

# Thin wrapper around CMake.  `make run` and `make test` install what is
# missing first (deploy/deps.sh is idempotent).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan run test unit stress test-integration bench cluster clean fuzz fuzz-run

all: build

deps:
	@bash deploy/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: deps build
	@bash deploy/run.sh

# Every suite, under ASan+UBSan: unit, fuzz-corpus replay, integration, then
# the stress suite (the failure paths repeated concurrently: about two
# minutes, each test bounded by its ctest TIMEOUT).  The release build is
# made too, so a warning that only -O2 shows fails here and not later in
# `make run`.
test: deps build build-asan
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'
	@cd $(ASAN_BUILD) && ctest --output-on-failure -L integration
	@cd $(ASAN_BUILD) && ctest --output-on-failure -L stress

stress: build-asan
	@cd $(ASAN_BUILD) && ctest --output-on-failure -L stress

unit: build-asan
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

bench: deps build
	@bash tests/bench/run.sh $(BUILD)

cluster: deps build
	@bash deploy/cluster.sh start

fuzz:
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DGW_FUZZ=ON -DGW_SANITIZE=address,undefined >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# Every libFuzzer target for FUZZ_SECONDS each, one after the other; fails on
# any crash, leak or per-input timeout (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 20
fuzz-run: fuzz
	@bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

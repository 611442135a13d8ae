# nook — see README.md. Every target installs what it needs through `deps`.
GO        ?= go
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION   := 0.1.0
# Every nook command is a fresh process, so start-up is most of what a lifecycle costs
# (make bench). Each choice below removes page faults from every start; on a VM where a
# fault costs ~40us that is the difference (see docs/PERFORMANCE.md):
#  - a static binary: no dynamic loader, no relocation of libc and libseccomp;
#  - netgo,osusergo: pure-Go resolvers, so the static glibc never needs NSS (dlopen);
#  - urfave_cli_no_docs: no man-page generator (and its markdown parser);
#  - GOEXPERIMENT=nogreenteagc: the Go 1.26 collector puts mark bits at the end of each
#    new span, touching a second page of every span a short-lived process starts;
#  - GOEXPERIMENT=jsonv2: encoding/json implemented on encoding/json/v2 (the default from
#    Go 1.27, same output), whose first decode of a whole config costs ~1.5 ms instead of
#    ~2.8 ms; create and the init each decode one.
#  - LIBC=musl (the default): the C side (the nsenter constructor, libseccomp) is linked
#    against musl, whose start-up is a few hundred instructions; static glibc's runs
#    cpuid dozens of times to size its caches (each a VM exit) and initialises IFUNCs,
#    ~1 ms more for every nook command and container init. No musl libseccomp is
#    packaged, so Debian's archive is linked (seccomp/libc_compat.c fills its one gap),
#    with the kernel and libseccomp headers made visible to musl-gcc in $(MUSL_DIR).
#    LIBC=glibc builds against the static glibc instead (a host without musl-gcc).
#  - -Wl,--wrap=mmap: the Go runtime's own mappings (it maps through the C library's mmap
#    in a cgo binary) go through startup/hugepages.c, which puts the heap and the runtime's
#    small metadata mappings on transparent huge pages: one fault of a 2 MiB page instead of
#    100-200 faults of 4 KiB pages in every command (create ~3 ms faster on the dev VM).
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -linkmode external -extldflags '-static -Wl,--wrap=mmap'
#  - keeperelf: the exit keeper (nsenter/keeper.c) and the parked init (nsenter/parker.c)
#    built as programs of their own and embedded, executed from sealed memfds: a running
#    container's keeper does not hold nook's binary busy, and an init left in created waits
#    in a few KiB instead of a Go runtime (a plain `go build` has neither: the keeper runs
#    from nook's binary, the init waits as it is).
GOTAGS    := urfave_cli_no_docs,netgo,osusergo,keeperelf
# Exported, so that tests build and run against what `make build` ships.
export GOEXPERIMENT := nogreenteagc,jsonv2
NOOK      := $(CURDIR)/nook
# The integration, security and fault suites test this binary instead of building their own.
export NOOK_BINARY := $(NOOK)
LIBC      ?= musl
MUSL_DIR  := $(CURDIR)/.build/musl
MULTIARCH  = $(shell gcc -dumpmachine)
APT_PKGS  := libseccomp-dev musl-tools busybox-static jq runc crun iproute2 uidmap
KEEPER    := nsenter/keeper.bin
PARKER    := nsenter/parker.bin
ifeq ($(LIBC),musl)
BUILD_ENV := CC=musl-gcc PKG_CONFIG_LIBDIR=$(MUSL_DIR)/pkgconfig
BUILD_DEP := $(MUSL_DIR)/pkgconfig/libseccomp.pc $(KEEPER) $(PARKER)
KEEPER_CC := musl-gcc
else ifeq ($(LIBC),glibc)
BUILD_ENV :=
BUILD_DEP := $(KEEPER) $(PARKER)
KEEPER_CC := gcc
else
$(error LIBC must be musl or glibc, not $(LIBC))
endif
# The runtime-tools tests this stage of nook is held to (see README, Conformance).
VALIDATION_TESTS ?= default create start state kill kill_no_effect delete delete_only_create_resources \
	delete_resources hostname mounts process process_user process_capabilities process_rlimits \
	process_oom_score_adj linux_ns_itype linux_ns_nopath linux_ns_path linux_ns_path_type linux_masked_paths \
	linux_readonly_paths root_readonly_true pidfile killsig misc_props \
	linux_devices linux_sysctl linux_uid_mappings linux_seccomp linux_mount_label linux_rootfs_propagation \
	config_updates_without_affect prestart_fail poststart poststop poststop_fail hooks hooks_stdin prestart \
	poststart_fail linux_process_apparmor_profile \
	linux_cgroups_cpus linux_cgroups_pids linux_cgroups_relative_cpus linux_cgroups_relative_pids \
	linux_cgroups_memory linux_cgroups_relative_memory linux_cgroups_devices linux_cgroups_relative_devices \
	linux_cgroups_network linux_cgroups_relative_network linux_cgroups_blkio linux_cgroups_relative_blkio \
	linux_cgroups_hugetlb linux_cgroups_relative_hugetlb process_capabilities_fail process_rlimits_fail
RUNTIME   ?= $(NOOK)
BENCH_N   ?= 30

# CRIU for checkpoint/restore (README, Checkpoint and restore): the system's criu when
# `criu check` passes, else CRIU 4.2 built from ../shared/criu (Debian 12's 3.17 fails on
# this kernel: kerndat_vdso_fill_symtable). Either way $(CRIU) is the one the tests use.
# iptables-restore is what CRIU locks a container's network with (its default).
RUNC_REF  := /opt/runc-1.5/bin/runc
RUNC_REF_VERSION := v1.5.3
CRIU_SRC  ?= $(CURDIR)/../shared/criu/criu-4.2.tar.gz
CRIU_DIR  := $(CURDIR)/.build/criu
CRIU      := $(CRIU_DIR)/criu
CRIU_RUN_PKGS   := iptables
CRIU_BUILD_PKGS := build-essential pkg-config libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler \
	protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev libgnutls28-dev libbsd-dev \
	libaio-dev libnftables-dev uuid-dev iproute2
# apt_install PKGS: installs those of PKGS that are missing.
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "criu: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

.PHONY: all deps criu runc-ref build demo test test-unit unit integration validation e2e security fault fuzz bench lint clean

all: build

# Idempotent and quiet when everything is there.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(GO) mod download
	@$(MAKE) --no-print-directory criu runc-ref

# runc 1.5, the reference for side-by-side checks (Debian's runc is 1.1): built from the Go module
# proxy into $(RUNC_REF) when it is not there (about 20 s).
runc-ref:
	@if [ -x $(RUNC_REF) ] && $(RUNC_REF) --version 2>/dev/null | grep -q '^runc version 1\.5\.'; then exit 0; fi; \
	echo "runc-ref: building runc $(RUNC_REF_VERSION) into $(dir $(RUNC_REF))"; \
	GOBIN=$(dir $(RUNC_REF)) GOFLAGS=-mod=mod $(GO) install -tags seccomp github.com/opencontainers/runc@$(RUNC_REF_VERSION)

# A working CRIU at $(CRIU), built only when neither it nor the system's passes `criu check`
# (about 90 s on two cores). Without the source it warns: the checkpoint tests then skip.
criu:
	@$(call apt_install,$(CRIU_RUN_PKGS))
	@if [ -x $(CRIU) ] && $(CRIU) check >/dev/null 2>&1; then exit 0; fi; \
	sys=$$(command -v criu); \
	if [ -n "$$sys" ] && "$$sys" check >/dev/null 2>&1; then \
		mkdir -p $(CRIU_DIR) && ln -sfn "$$sys" $(CRIU) && echo "criu: using $$sys"; exit 0; \
	fi; \
	if [ ! -f $(CRIU_SRC) ]; then \
		echo "criu: no working criu (system: $${sys:-none}) and no source at $(CRIU_SRC): checkpoint tests will skip"; exit 0; \
	fi; \
	$(call apt_install,$(CRIU_BUILD_PKGS)) || exit 1; \
	echo "criu: building $(notdir $(CRIU_SRC)) into $(CRIU_DIR)"; \
	rm -rf $(CRIU_DIR) && mkdir -p $(CRIU_DIR)/src && tar -xzf $(CRIU_SRC) -C $(CRIU_DIR)/src --strip-components=1 && \
	if ! MAKEFLAGS= make -C $(CRIU_DIR)/src -j$$(nproc) criu >$(CRIU_DIR)/build.log 2>&1; then \
		tail -20 $(CRIU_DIR)/build.log; echo "criu: build failed (log: $(CRIU_DIR)/build.log)"; exit 1; \
	fi; \
	cp $(CRIU_DIR)/src/criu/criu $(CRIU).tmp && mv $(CRIU).tmp $(CRIU); \
	if $(CRIU) check >/dev/null 2>&1; then echo "criu: $$($(CRIU) --version | head -1) built, criu check passes"; \
	else echo "criu: built, but '$(CRIU) check' fails on this host: checkpoint tests will skip"; $(CRIU) check 2>&1 | tail -3; fi

build: $(BUILD_DEP)
	$(BUILD_ENV) $(GO) build -tags $(GOTAGS) -ldflags "$(LDFLAGS)" -o $(NOOK) .

# The exit keeper on its own (go:embed needs it inside the package; .gitignore'd).
$(KEEPER): nsenter/keeper.c nsenter/keeper.h
	$(KEEPER_CC) -static -Os -s -Wall -Wextra -DNOOK_KEEPER_MAIN -o $@.tmp nsenter/keeper.c && mv $@.tmp $@

# The parked init's program, likewise.
$(PARKER): nsenter/parker.c nsenter/gosignals.h
	$(KEEPER_CC) -static -Os -s -Wall -Wextra -DNOOK_PARKER_MAIN -o $@.tmp nsenter/parker.c && mv $@.tmp $@

# musl-gcc sees only musl's headers: link in the kernel's and libseccomp's, and
# point pkg-config at Debian's static libseccomp.a alone (its shared library is
# built against glibc).
$(MUSL_DIR)/pkgconfig/libseccomp.pc:
	@command -v musl-gcc >/dev/null || { echo "build: musl-gcc missing: run 'make deps' (Debian package musl-tools) or build with LIBC=glibc"; exit 1; }
	@test -f /usr/lib/$(MULTIARCH)/libseccomp.a || { echo "build: /usr/lib/$(MULTIARCH)/libseccomp.a missing: run 'make deps' (Debian package libseccomp-dev)"; exit 1; }
	@rm -rf $(MUSL_DIR) && mkdir -p $(MUSL_DIR)/include $(MUSL_DIR)/lib $(MUSL_DIR)/pkgconfig
	@ln -s /usr/include/linux /usr/include/asm-generic /usr/include/seccomp.h /usr/include/seccomp-syscalls.h $(MUSL_DIR)/include/
	@ln -s /usr/include/$(MULTIARCH)/asm $(MUSL_DIR)/include/asm
	@ln -s /usr/lib/$(MULTIARCH)/libseccomp.a $(MUSL_DIR)/lib/
	@printf 'Name: libseccomp\nDescription: Debian libseccomp.a for a static musl link\nVersion: %s\nCflags: -isystem %s\nLibs: -L%s -lseccomp\n' \
		"$$(pkg-config --modversion libseccomp)" $(MUSL_DIR)/include $(MUSL_DIR)/lib > $@.tmp && mv $@.tmp $@

demo: deps build
	NOOK=$(NOOK) tests/demo/demo.sh

# Every test step runs, even after one fails (make -k); each records its counts in $(TIERS)
# and the closing lines sum them per tier: unit (unit, fuzz), integration (integration,
# security, fault, e2e) and conformance (validation). The exit status is non-zero if any
# step failed. The failures themselves are printed in full where they happen.
TEST_STEPS := lint unit fuzz validation security fault e2e integration
TIERS      ?= $(CURDIR)/.build/tiers
# tests/summary, built where the records are (no `go run`: it adds "exit status 1").
SUMMARY    := $(TIERS)/summary
test: deps
	@rm -rf $(TIERS)
	@rc=0; $(MAKE) --no-print-directory -k $(TEST_STEPS) || rc=1; \
	echo; $(GO) build -o $(SUMMARY) ./tests/summary && $(SUMMARY) print -dir $(TIERS) || rc=1; exit $$rc

# gotest TIER,PART,COMMAND: COMMAND is a `go test -json` run, printed as go test prints
# without -json (every failed test's output in full) and its counts recorded.
gotest = @echo '$(subst -json ,,$(3))' && mkdir -p $(TIERS) && $(GO) build -o $(SUMMARY) ./tests/summary && \
	{ $(3); echo $$? >$(TIERS)/$(1).$(2).rc; } | $(SUMMARY) gotest -dir $(TIERS) -tier $(1) -part $(2)
# script TIER,PART,PREFIX,COMMAND: COMMAND's output is shown and its counts read from its
# last line starting with PREFIX ("N passed, N failed[, N skipped]").
script = @echo '$(4)' && mkdir -p $(TIERS) && $(GO) build -o $(SUMMARY) ./tests/summary && \
	{ $(4); echo $$? >$(TIERS)/$(1).$(2).rc; } | $(SUMMARY) script -dir $(TIERS) -tier $(1) -part $(2) -prefix '$(3)'

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

# The unit tests (every package outside tests/), as any user: no root, no musl, no nook
# binary; a test that needs root skips, naming what it needs. About half a minute.
test-unit:
	$(call gotest,unit,go,$(GO) test -json -count=1 $$($(GO) list ./... | grep -v /tests/))

unit: test-unit $(BUILD_DEP)
ifeq ($(LIBC),musl)
	@# The packages with C in them (and the one linking both) again, linked as nook is.
	$(call gotest,unit,musl,$(BUILD_ENV) $(GO) test -json -count=1 -tags $(GOTAGS) -ldflags "-linkmode external -extldflags -static" \
		./nsenter/ ./seccomp/ ./libcontainer/ ./libcontainer/containerinit/ ./libcontainer/initproto/)
endif

integration: build
	$(call gotest,integration,integration,$(GO) test -json -count=1 -timeout 15m ./tests/integration/)

validation: build
	$(call script,conformance,validation,validation ,RUNTIME=$(RUNTIME) tests/validation/run.sh $(VALIDATION_TESTS))

# podman (conmon) and containerd (runc shim) driving nook, beside runc (installs the engines if missing).
e2e: build
	$(call script,integration,e2e,engines:,bash tests/engines/run.sh)

# One regression test per runc CVE class (real attack bundles).
security: build
	$(call gotest,integration,security,$(GO) test -json -count=1 -timeout 15m ./tests/security/)

# Lifecycles killed at random points, then delete --force: nothing may remain.
fault: build
	$(call gotest,integration,fault,$(GO) test -json -count=1 -timeout 20m ./tests/fault/)

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(call script,unit,fuzz,fuzz:,FUZZTIME=$(FUZZTIME) tests/fault/fuzz.sh)

# nook against runc on this host; then the three of them on a pure cgroup2 host (a private
# mount namespace), which is the only kind crun 1.8 runs on. -recache: every binary is first
# dropped from the page cache and read back by an exec, as on a host where it was installed
# long ago (a freshly linked ./nook is held in larger folios and ran ~1.5 ms a command faster).
bench: deps build
	$(GO) run ./tests/bench -n $(BENCH_N) -recache -runtime nook=$(NOOK) -runtime runc=$$(command -v runc) -baseline runc
	@echo
	$(GO) run ./tests/bench -n $(BENCH_N) -recache -startup 0 -seccomp-profile "" -crun-private-cgroup2 \
		-runtime nook=$(NOOK) -runtime runc=$$(command -v runc) -runtime crun=$$(command -v crun) -baseline runc

clean:
	rm -rf $(NOOK) .build $(KEEPER) $(PARKER)

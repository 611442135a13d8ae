# nook — see README.md. Every target installs what it needs through `deps`.
GO        ?= go
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION   := 0.1.0
# Every nook command is a fresh process, so start-up is most of what a lifecycle costs
# (make bench). Each choice below removes page faults from every start; on a VM where a
# fault costs ~40us that is the difference (see README, Performance):
#  - a static binary: no dynamic loader, no relocation of libc and libseccomp;
#  - netgo,osusergo: pure-Go resolvers, so the static glibc never needs NSS (dlopen);
#  - urfave_cli_no_docs: no man-page generator (and its markdown parser);
#  - GOEXPERIMENT=nogreenteagc: the Go 1.26 collector puts mark bits at the end of each
#    new span, touching a second page of every span a short-lived process starts;
#  - GOEXPERIMENT=jsonv2: encoding/json implemented on encoding/json/v2 (the default from
#    Go 1.27, same output), whose first decode of a whole config costs ~1.5 ms instead of
#    ~2.8 ms; create and the init each decode one.
# Exported, so that tests build and run against what `make build` ships.
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -linkmode external -extldflags -static
GOTAGS    := urfave_cli_no_docs,netgo,osusergo
export GOEXPERIMENT := nogreenteagc,jsonv2
NOOK      := $(CURDIR)/nook
APT_PKGS  := libseccomp-dev busybox-static jq runc crun iproute2
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

.PHONY: all deps build demo test unit integration validation e2e security fault fuzz bench lint clean

all: build

# Idempotent and quiet when everything is there.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(GO) mod download

build:
	$(GO) build -tags $(GOTAGS) -ldflags "$(LDFLAGS)" -o $(NOOK) .

demo: deps build
	NOOK=$(NOOK) tests/demo/demo.sh

# Integration tests last: their go test summary is the closing line CI reads.
test: deps build lint unit fuzz validation security fault e2e integration

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/)

integration: build
	$(GO) test -count=1 -timeout 15m ./tests/integration/

validation: build
	RUNTIME=$(RUNTIME) tests/validation/run.sh $(VALIDATION_TESTS)

# podman (conmon) and containerd (runc shim) driving nook, beside runc (installs the engines if missing).
e2e: build
	bash tests/engines/run.sh

# One regression test per runc CVE class (real attack bundles).
security: build
	$(GO) test -count=1 -timeout 15m ./tests/security/

# Lifecycles killed at random points, then delete --force: nothing may remain.
fault: build
	$(GO) test -count=1 -timeout 20m ./tests/fault/

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) tests/fault/fuzz.sh

bench: deps build
	$(GO) run ./tests/bench -n $(BENCH_N) -runtime nook=$(NOOK) -runtime runc=$$(command -v runc) -baseline runc

clean:
	rm -f $(NOOK)

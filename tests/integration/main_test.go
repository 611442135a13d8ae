// Package integration runs real containers with a freshly built nook on a
// busybox rootfs. It needs root and /bin/busybox (busybox-static); without
// them every test is skipped with a message naming what is missing.
//
//	go test ./tests/integration/ -count=1
package integration

import (
	"flag"
	"os"
	"testing"

	"github.com/nookrt/nook/tests/harness"
)

var (
	// suite holds the nook binary under test, the master busybox rootfs
	// and the base config every bundle starts from (tests/harness).
	suite *harness.Suite
	// skipReason is set when the machine cannot run these tests.
	skipReason string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Most of the time is spent waiting on processes, not on the CPU: run
	// more parallel tests than there are cores unless told otherwise.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			parallelSet = true
		}
	})
	if !parallelSet {
		flag.Set("test.parallel", "6")
	}
	// Bundles hard-link the master rootfs: hundreds of containers, none of
	// which writes a rootfs file in place.
	os.Exit(harness.Run(m, harness.Config{Prefix: "nook-integration-", LinkRootfs: true}, &suite, &skipReason))
}

package devices

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeV1Dir is a plain directory standing in for a v1 devices cgroup: the
// allow and deny files record what is written; list is devices.list's
// content ("" for no such file).
func fakeV1Dir(t *testing.T, list string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"devices.allow", "devices.deny"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if list != "" {
		if err := os.WriteFile(filepath.Join(dir, "devices.list"), []byte(list), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSetV1Writes(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		allow("c", 1, 3, "rwm"),
		allow("c", 1, 5, "r"),
	}
	for _, tc := range []struct {
		name, list, allow, deny string
	}{
		// No readable list: reset, then every exception.
		{"unknown", "", "c 1:3 rwm\nc 1:5 r\n", "a\n"},
		// Allow-all mode hides its exceptions: reset too.
		{"allow-all", "a *:* rwm\n", "c 1:3 rwm\nc 1:5 r\n", "a\n"},
		// Deny mode: only the difference.
		{"patch", "c 1:3 rwm\nc 1:7 rwm\n", "c 1:5 r\n", "c 1:7 rwm\n"},
		{"same", "c 1:3 rwm\nc 1:5 r\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeV1Dir(t, tc.list)
			if err := SetV1(dir, rules); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, "devices.allow")); got != tc.allow {
				t.Errorf("devices.allow = %q, want %q", got, tc.allow)
			}
			if got := readFile(t, filepath.Join(dir, "devices.deny")); got != tc.deny {
				t.Errorf("devices.deny = %q, want %q", got, tc.deny)
			}
		})
	}
}

func TestSetV1AllowAll(t *testing.T) {
	dir := fakeV1Dir(t, "c 1:3 rwm\n")
	rules := []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Type: "b", Major: num(8), Access: "w"}}
	if err := SetV1(dir, rules); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "devices.allow")); got != "a\n" {
		t.Errorf("devices.allow = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "devices.deny")); got != "b 8:* w\n" {
		t.Errorf("devices.deny = %q", got)
	}
}

func TestSetV1MissingController(t *testing.T) {
	err := SetV1(t.TempDir(), []specs.LinuxDeviceCgroup{{Access: "rwm"}})
	if err == nil || !strings.Contains(err.Error(), "devices.deny") {
		t.Fatalf("got %v, want an error naming devices.deny", err)
	}
}

const v1DevicesRoot = "/sys/fs/cgroup/devices"

func needV1Devices(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	if _, err := os.Stat(filepath.Join(v1DevicesRoot, "devices.allow")); err != nil {
		t.Skipf("needs a cgroup v1 devices hierarchy at %s: %v", v1DevicesRoot, err)
	}
}

func listLines(t *testing.T, dir string) []string {
	t.Helper()
	lines := strings.Fields(strings.ReplaceAll(readFile(t, filepath.Join(dir, "devices.list")), " ", "_"))
	sort.Strings(lines)
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], "_", " ")
	}
	return lines
}

func TestSetV1RealCgroup(t *testing.T) {
	needV1Devices(t)
	dir := makeTestCgroup(t, v1DevicesRoot)
	h := startHelper(t)
	h.joinCgroup(t, dir)

	if err := SetV1(dir, []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, allow("c", 1, 3, "rwm")}); err != nil {
		t.Fatal(err)
	}
	if got, want := listLines(t, dir), []string{"c 1:3 rwm"}; !equal(got, want) {
		t.Errorf("devices.list = %q, want %q", got, want)
	}
	expectAccess(t, h, map[string]string{
		"open /dev/null rw": "ok",
		"open /dev/zero r":  "EPERM",
	})

	// Patching a live cgroup: /dev/zero read-only, /dev/null kept.
	if err := SetV1(dir, []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, allow("c", 1, 5, "r"), allow("c", 1, 3, "rwm")}); err != nil {
		t.Fatal(err)
	}
	if got, want := listLines(t, dir), []string{"c 1:3 rwm", "c 1:5 r"}; !equal(got, want) {
		t.Errorf("devices.list = %q, want %q", got, want)
	}
	expectAccess(t, h, map[string]string{
		"open /dev/null rw": "ok",
		"open /dev/zero r":  "ok",
		"open /dev/zero w":  "EPERM",
	})

	// Switching to allow-all with one denial.
	if err := SetV1(dir, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Type: "c", Major: num(1), Minor: num(5), Access: "rwm"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := listLines(t, dir), []string{"a *:* rwm"}; !equal(got, want) {
		t.Errorf("devices.list = %q, want %q", got, want)
	}
	expectAccess(t, h, map[string]string{
		"open /dev/full rw": "ok",
		"open /dev/zero r":  "EPERM",
	})
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func expectAccess(t *testing.T, h *helper, want map[string]string) {
	t.Helper()
	for req, w := range want {
		if got := h.ask(t, req); got != w {
			t.Errorf("%s: got %s, want %s", req, got, w)
		}
	}
}

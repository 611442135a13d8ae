package seccomp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+cacheSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCompileCacheHitEqualsCompile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	s := loadProfile(t, "docker-default.json", "")
	var missNotes, hitNotes []string
	miss, err := CompileCached(s, func(f string, a ...any) { missNotes = append(missNotes, fmt.Sprintf(f, a...)) }, dir)
	if err != nil {
		t.Fatal(err)
	}
	files := cacheFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache holds %v after one compile", files)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode: %v %v", fi.Mode(), err)
	}
	hit, err := CompileCached(s, func(f string, a ...any) { hitNotes = append(hitNotes, fmt.Sprintf(f, a...)) }, dir)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hit.Filter, plain.Filter) || !slices.Equal(miss.Filter, plain.Filter) || hit.Flags != plain.Flags {
		t.Error("cached program differs from a fresh compile")
	}
	if len(missNotes) == 0 || !slices.Equal(missNotes, hitNotes) {
		t.Errorf("notes on miss %q and hit %q must match (the profile names syscalls newer than libseccomp %s)", missNotes, hitNotes, LibseccompVersion())
	}
}

func TestCompileCacheKeyFollowsTheProfile(t *testing.T) {
	dir := t.TempDir()
	s := loadProfile(t, "deny-mkdir.json", "")
	a, err := CompileCached(s, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Syscalls[0].ErrnoRet = uintPtr(5)
	b, err := CompileCached(s, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Filter, b.Filter) {
		t.Error("a changed errnoRet produced the cached program of the old profile")
	}
	if n := len(cacheFiles(t, dir)); n != 2 {
		t.Errorf("%d cache entries, want 2", n)
	}
	// Listener settings are not in the program: same entry, fresh values.
	n := loadProfile(t, "notify-mkdir.json", "/a.sock")
	if _, err := CompileCached(n, nil, dir); err != nil {
		t.Fatal(err)
	}
	n.ListenerPath, n.ListenerMetadata = "/b.sock", "other"
	p, err := CompileCached(n, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.ListenerPath != "/b.sock" || p.ListenerMetadata != "other" {
		t.Errorf("cached compile returned listener %q %q", p.ListenerPath, p.ListenerMetadata)
	}
	if n := len(cacheFiles(t, dir)); n != 3 {
		t.Errorf("%d cache entries, want 3", n)
	}
}

func TestCompileCacheStillValidates(t *testing.T) {
	dir := t.TempDir()
	s := loadProfile(t, "deny-mkdir.json", "")
	if _, err := CompileCached(s, nil, dir); err != nil {
		t.Fatal(err)
	}
	// Same rules, but now an unsupported combination: must fail, hit or not.
	s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	if _, err := CompileCached(s, nil, dir); err == nil || !strings.Contains(err.Error(), "linux.seccomp.flags") {
		t.Errorf("err = %v, want a linux.seccomp.flags error", err)
	}
}

func TestCompileCacheIgnoresDamagedEntries(t *testing.T) {
	dir := t.TempDir()
	s := loadProfile(t, "deny-mkdir.json", "")
	want, err := CompileCached(s, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{nil, []byte("garbage"), append([]byte(cacheFormat), 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), append([]byte(cacheFormat+"\x00\x00\x00\x00"), 1, 2, 3)} {
		if err := os.WriteFile(cacheFiles(t, dir)[0], junk, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := CompileCached(s, nil, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Filter, want.Filter) {
			t.Fatalf("damaged entry %q was served", junk)
		}
	}
}

func TestCompileCachePrunes(t *testing.T) {
	dir := t.TempDir()
	for i := range maxCacheEntries + 5 {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(i + 1))},
		}}
		if _, err := CompileCached(s, nil, dir); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cacheFiles(t, dir)); n != maxCacheEntries {
		t.Errorf("%d cache entries, want at most %d", n, maxCacheEntries)
	}
}

func TestCompileCacheUnwritableIsNotFatal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var debug []string
	p, err := CompileCached(loadProfile(t, "deny-mkdir.json", ""), func(f string, a ...any) { debug = append(debug, fmt.Sprintf(f, a...)) }, file)
	if err != nil || p == nil {
		t.Fatalf("compile with an unusable cache: %v", err)
	}
	if len(debug) != 1 || !strings.Contains(debug[0], "compile cache") {
		t.Errorf("debug %q, want one line about the cache", debug)
	}
}

package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLoadValid(t *testing.T) {
	b := newBundle(t)
	writeSpec(t, b, validSpec())
	s, err := Load(b)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if s.Process.Args[0] != "sh" || s.Hostname != "box" || len(s.Linux.Namespaces) != 3 {
		t.Fatalf("Load decoded wrong spec: %+v", s)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	_, err := Load(missing)
	if got, want := errString(err), "bundle "+missing+": no such file or directory"; got != want {
		t.Errorf("missing bundle: got %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing bundle: errors.Is(ErrNotExist) false")
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := errString(errOf(Load(file))), "bundle "+file+": not a directory"; got != want {
		t.Errorf("bundle is a file: got %q, want %q", got, want)
	}

	b := newBundle(t)
	cfg := filepath.Join(b, "config.json")
	if got, want := errString(errOf(Load(b))), "config "+cfg+": no such file or directory"; got != want {
		t.Errorf("missing config: got %q, want %q", got, want)
	}
}

// errOf keeps only the error of a (value, error) pair.
func errOf[T any](_ T, err error) error { return err }

func TestLoadDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // after "config <path>: "
		// wantV2, if set, replaces want under GOEXPERIMENT=jsonv2, whose
		// type errors point at a value's first byte and name array indices.
		wantV2 string
	}{
		{
			name: "syntax error on line 4",
			// Line 4 lacks the colon after "args"; the '[' is column 12.
			data: "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\n    \"args\" [\"sh\"]\n  }\n}\n",
			want: "line 4, column 12: invalid character '[' after object key",
		},
		{
			name: "type error names field path",
			// The string "0" spans columns 11-13 of line 3; the error points at its end.
			data:   "{\"ociVersion\": \"1.3.0\",\n\"process\": {\"user\":\n  {\"uid\": \"0\"}}}",
			want:   `line 3, column 13: process.user.uid: cannot use JSON string as uint32`,
			wantV2: `line 3, column 11: process.user.uid: cannot use JSON string as uint32`,
		},
		{
			name:   "nested type error",
			data:   "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": 7}]}}",
			want:   "line 1, column 53: linux.namespaces.type: cannot use JSON number as specs.LinuxNamespaceType",
			wantV2: "line 1, column 53: linux.namespaces.1.type: cannot use JSON number as specs.LinuxNamespaceType",
		},
		{
			name: "top level is not an object",
			data: "[1, 2]",
			// Composite values are reported at their opening bracket.
			want: "line 1, column 1: (top level): cannot use JSON array as specs.Spec",
		},
		{
			name: "truncated",
			data: "{\n  \"ociVersion\": \"1.3.0\",\n",
			want: "line 3, column 1: unexpected end of JSON input",
		},
		{
			name: "empty",
			data: "",
			want: "empty file, expected a JSON object",
		},
		{
			name: "trailing data",
			data: "{\"ociVersion\": \"1.3.0\"}\n\n  {}",
			want: "line 3, column 3: unexpected data after the top-level JSON object",
		},
		{
			name: "columns count characters",
			data: "{\"annotations\": {\"é€\": \"ü\" x}}",
			want: "line 1, column 28: invalid character 'x' after object key:value pair",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			writeConfig(t, b, []byte(tc.data))
			w := tc.want
			if jsonV2 && tc.wantV2 != "" {
				w = tc.wantV2
			}
			want := "config " + filepath.Join(b, "config.json") + ": " + w
			if got := errString(errOf(Load(b))); got != want {
				t.Errorf("Load:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// TestLoadSyntaxErrorInLargeFile checks positions stay exact when the error
// lies far beyond the decoder's first read.
func TestLoadSyntaxErrorInLargeFile(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("{\n  \"annotations\": {\n")
	const n = 5000
	for i := 0; i < n; i++ {
		sb.WriteString("    \"k" + strings.Repeat("x", 40) + string(rune('a'+i%26)) + strconv.Itoa(i) + "\": \"v\",\n")
	}
	sb.WriteString("    \"last\": \"v\",,\n  }\n}\n") // double comma on line n+3
	b := newBundle(t)
	writeConfig(t, b, []byte(sb.String()))
	want := "line " + strconv.Itoa(n+3) + ", column 17: invalid character ',' looking for beginning of object key string"
	if got := errString(errOf(Load(b))); !strings.HasSuffix(got, want) {
		t.Fatalf("Load:\n got  %q\n want suffix %q", got, want)
	}
}

func TestLoadRunsValidate(t *testing.T) {
	b := newBundle(t)
	s := validSpec()
	s.Mounts[0].Destination = ""
	writeSpec(t, b, s)
	want := "config " + filepath.Join(b, "config.json") + `: mounts[0].destination: required`
	if got := errString(errOf(Load(b))); got != want {
		t.Fatalf("Load:\n got  %q\n want %q", got, want)
	}
}

func TestLineCol(t *testing.T) {
	text := "ab\ncd€e\n\nf"
	tests := []struct {
		off       int64
		line, col int
	}{
		{0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {8, 2, 4}, {9, 2, 5},
		{10, 3, 1}, {11, 4, 1}, {12, 4, 2}, {100, 4, 2}, {-1, 1, 1},
	}
	for _, tc := range tests {
		line, col, err := lineCol(strings.NewReader(text), tc.off)
		if err != nil || line != tc.line || col != tc.col {
			t.Errorf("lineCol(%d) = %d:%d, %v; want %d:%d", tc.off, line, col, err, tc.line, tc.col)
		}
	}
}

// readWithin runs Read in the background so that a config that blocks
// (the bug: a FIFO hung create) fails the test instead of hanging it.
func readWithin(t *testing.T, bundle string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := Read(bundle); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("Read(%s) still blocked after 5s", bundle)
		return nil
	}
}

// A config.json that is not a regular file, or is too large, is refused at
// once with the path and what it is; a symlink to a regular file is read.
func TestReadHostileConfig(t *testing.T) {
	tests := []struct {
		name  string
		make  func(t *testing.T, cfg string)
		wants string // after "config <path>: "
	}{
		{"fifo", func(t *testing.T, cfg string) { must(t, unix.Mkfifo(cfg, 0o644)) }, "is a FIFO, not a regular file"},
		{"dev-zero symlink", func(t *testing.T, cfg string) { must(t, os.Symlink("/dev/zero", cfg)) }, "is a character device, not a regular file"},
		{"directory", func(t *testing.T, cfg string) { must(t, os.Mkdir(cfg, 0o755)) }, "is a directory, not a regular file"},
		{"socket", func(t *testing.T, cfg string) {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			must(t, err)
			t.Cleanup(func() { unix.Close(fd) })
			must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: cfg}))
		}, "is a socket, not a regular file"},
		{"sparse 4 GiB", func(t *testing.T, cfg string) {
			f, err := os.Create(cfg)
			must(t, err)
			must(t, f.Truncate(4<<30))
			must(t, f.Close())
		}, "4294967296 bytes, more than the limit of 32 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			cfg := filepath.Join(b, "config.json")
			tc.make(t, cfg)
			began := time.Now()
			err := readWithin(t, b)
			if got, want := errString(err), "config "+cfg+": "+tc.wants; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if took := time.Since(began); took > time.Second {
				t.Errorf("took %v, want well under a second", took)
			}
		})
	}
}

func TestReadConfigThroughSymlink(t *testing.T) {
	b := newBundle(t)
	writeSpec(t, b, validSpec())
	cfg := filepath.Join(b, "config.json")
	must(t, os.Rename(cfg, filepath.Join(b, "real.json")))
	must(t, os.Symlink("real.json", cfg))
	if _, err := Load(b); err != nil {
		t.Fatalf("config.json symlinked to a regular file: %v", err)
	}
}

// The read itself is bounded too, for a file whose size says nothing:
// procfs files report 0 bytes and hold more.
func TestReadRegularBoundsTheRead(t *testing.T) {
	if _, err := readRegular("/proc/self/status", 16); errString(err) != "more than the limit of 16 bytes" {
		t.Errorf("/proc/self/status with a 16-byte limit: %v", err)
	}
	data, err := readRegular("/proc/self/status", 1<<20)
	if err != nil || !strings.Contains(string(data), "Pid:") {
		t.Errorf("/proc/self/status: %v, %q", err, data)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

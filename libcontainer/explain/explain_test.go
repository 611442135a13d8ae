package explain

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// elfHeader is a minimal 64-bit little-endian ELF header (no program or
// section headers) for machine m: enough for the kernel and debug/elf to
// read its machine.
func elfHeader(m elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

// elfWithLoader is elfHeader(m) with one PT_INTERP program header naming
// loader, as a dynamically linked executable has.
func elfWithLoader(m elf.Machine, loader string) []byte {
	h := elfHeader(m)
	binary.LittleEndian.PutUint64(h[32:], 64) // e_phoff
	binary.LittleEndian.PutUint16(h[54:], 56) // e_phentsize
	binary.LittleEndian.PutUint16(h[56:], 1)  // e_phnum
	ph := make([]byte, 56)
	binary.LittleEndian.PutUint32(ph[0:], uint32(elf.PT_INTERP))
	binary.LittleEndian.PutUint32(ph[4:], uint32(elf.PF_R))
	binary.LittleEndian.PutUint64(ph[8:], 120)                    // p_offset
	binary.LittleEndian.PutUint64(ph[32:], uint64(len(loader)+1)) // p_filesz
	binary.LittleEndian.PutUint64(ph[40:], uint64(len(loader)+1)) // p_memsz
	return append(append(h, ph...), append([]byte(loader), 0)...)
}

// hostMachine is this host's own ELF machine.
func hostMachine(t *testing.T) elf.Machine {
	list := hostMachines()
	if list == nil {
		t.Skipf("no ELF machine known for %s", runtime.GOARCH)
	}
	return elf.Machine(list[0])
}

// otherMachine is an ELF machine this host does not run.
func otherMachine() elf.Machine {
	if runtime.GOARCH == "arm64" {
		return elf.EM_X86_64
	}
	return elf.EM_AARCH64
}

type file struct {
	data string
	mode os.FileMode
	link string // a symlink instead
}

// makeRootfs makes a directory tree from files (paths relative to it).
func makeRootfs(t *testing.T, files map[string]file) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case f.link != "":
			err = os.Symlink(f.link, p)
		case f.mode&os.ModeDir != 0:
			err = os.Mkdir(p, f.mode.Perm())
		default:
			err = os.WriteFile(p, []byte(f.data), f.mode)
			if err == nil {
				err = os.Chmod(p, f.mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func hostRoot(t *testing.T, dir string, o Options) *Root {
	t.Helper()
	r, err := Host(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestExec(t *testing.T) {
	host, err := os.ReadFile("/proc/self/exe") // a binary this host runs
	if err != nil {
		t.Fatal(err)
	}
	hostELF := string(host)
	files := map[string]file{
		"bin/sh":              {data: "#!/bin/busybox\n", mode: 0o755},
		"bin/busybox":         {data: hostELF, mode: 0o755},
		"good.sh":             {data: "#!/bin/sh\necho hi\n", mode: 0o755},
		"env.sh":              {data: "#!/bin/env sh\n", mode: 0o755},
		"bin/env":             {data: hostELF, mode: 0o755},
		"nobash.sh":           {data: "#!/bin/bash\necho hi\n", mode: 0o755},
		"crlf.sh":             {data: "#!/bin/sh\r\necho hi\r\n", mode: 0o755},
		"crlfarg.sh":          {data: "#!/bin/env sh\r\n", mode: 0o755},
		"crlfbash.sh":         {data: "#!/bin/bash\r\n", mode: 0o755},
		"empty.sh":            {data: "#!  \n", mode: 0o755},
		"arm":                 {data: string(elfHeader(otherMachine())), mode: 0o755},
		"armscript":           {data: "#!/arm\n", mode: 0o755},
		"text":                {data: "echo no shebang\n", mode: 0o755},
		"zero":                {mode: 0o755},
		"noexec-bits":         {data: hostELF, mode: 0o644},
		"ownerx":              {data: hostELF, mode: 0o700},
		"dir":                 {mode: os.ModeDir | 0o755},
		"dangling":            {link: "/nowhere/at/all"},
		"escape":              {link: "/../../../../bin/true"}, // would be the host's
		"loop1.sh":            {data: "#!/loop2.sh\n", mode: 0o755},
		"loop2.sh":            {data: "#!/loop1.sh\n", mode: 0o755},
		"relative-interp.sh":  {data: "#!bin/sh\n", mode: 0o755},
		"bin/link-to-missing": {link: "bash"},
		"viadangling.sh":      {data: "#!/bin/link-to-missing\n", mode: 0o755},
	}
	if m := binary.LittleEndian.Uint16(host[18:]); !hostRuns(m) {
		t.Skipf("this test binary is for ELF machine %d, which hostRuns does not accept on %s", m, runtime.GOARCH)
	}
	r := hostRoot(t, makeRootfs(t, files), Options{Cwd: "/", Cred: &Cred{UID: 1000, GID: 1000}})
	for _, c := range []struct {
		path, kind, want string
	}{
		{"/good.sh", "", ""},
		{"/env.sh", "", ""},
		{"/bin/busybox", "", ""},
		{"/relative-interp.sh", "", ""},
		{"/missing", NotFound, "/missing does not exist in the container"},
		{"/no/dir/x", NotFound, "nor does its directory /no/dir"},
		{"/dangling", NotFound, "symbolic link to /nowhere/at/all"},
		{"/escape", NotFound, "/escape is a symbolic link to /../../../../bin/true, which does not exist in the container"},
		{"/nobash.sh", InterpreterMissing, "the interpreter /bin/bash named on the first line of /nobash.sh does not exist in the container"},
		{"/viadangling.sh", InterpreterMissing, "symbolic link to bash"},
		{"/crlf.sh", ShebangCRLF, `"/bin/sh\r" is looked for instead of "/bin/sh"`},
		{"/crlfarg.sh", ShebangCRLF, `"sh\r" is looked for`},
		{"/crlfbash.sh", ShebangCRLF, `instead of "/bin/bash", and /bin/bash does not exist in the container either`},
		{"/empty.sh", ShebangEmpty, "#! without an interpreter"},
		{"/arm", WrongArch, "/arm is an " + archName(uint16(otherMachine())) + " binary on an " + runtime.GOARCH + " host"},
		{"/armscript", WrongArch, "(it is the interpreter of /armscript)"},
		{"/text", BadFormat, "neither an ELF binary nor a script"},
		{"/zero", BadFormat, "/zero is empty"},
		{"/noexec-bits", NotExecutable, "mode 0644"},
		{"/ownerx", PermissionDenied, "cannot be executed by uid 1000"},
		{"/dir", IsDirectory, "/dir is a directory"},
		{"/loop1.sh", TooManyLevels, "too many levels"},
	} {
		prob := r.Exec(c.path)
		switch {
		case c.kind == "" && prob != nil:
			t.Errorf("%s: want no problem, got %s: %s", c.path, prob.Kind, prob.Message)
		case c.kind == "":
		case prob == nil:
			t.Errorf("%s: want %s, got no problem", c.path, c.kind)
		case prob.Kind != c.kind || !strings.Contains(prob.Message, c.want):
			t.Errorf("%s: want %s %q, got %s %q", c.path, c.kind, c.want, prob.Kind, prob.Message)
		case prob.Hint == "":
			t.Errorf("%s: %s has no hint", c.path, prob.Kind)
		}
	}
}

// TestLoaderMissing: a dynamically linked host binary copied without the
// dynamic loader it names.
func TestLoaderMissing(t *testing.T) {
	bin := dynamicBinary(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	r := hostRoot(t, makeRootfs(t, map[string]file{"app": {data: string(data), mode: 0o755}}), Options{})
	prob := r.Exec("/app")
	if prob == nil || prob.Kind != LoaderMissing || !strings.Contains(prob.Message, "the dynamic loader /lib") ||
		!strings.Contains(prob.Message, "that /app needs does not exist in the container") {
		t.Fatalf("want %s, got %+v", LoaderMissing, prob)
	}
}

// TestLoaderByHand: hand-made ELF files whose loader is missing, or is
// for another machine.
func TestLoaderByHand(t *testing.T) {
	m := hostMachine(t)
	r := hostRoot(t, makeRootfs(t, map[string]file{
		"app":             {data: string(elfWithLoader(m, "/lib/ld-musl.so.1")), mode: 0o755},
		"app2":            {data: string(elfWithLoader(m, "/lib/ld-other.so")), mode: 0o755},
		"lib/ld-other.so": {data: string(elfHeader(otherMachine())), mode: 0o755},
	}), Options{})
	if prob := r.Exec("/app"); prob == nil || prob.Kind != LoaderMissing || prob.Path != "/lib/ld-musl.so.1" ||
		!strings.Contains(prob.Message, "the dynamic loader /lib/ld-musl.so.1 that /app needs does not exist in the container") {
		t.Errorf("/app: got %+v", prob)
	}
	if prob := r.Exec("/app2"); prob == nil || prob.Kind != WrongArch ||
		!strings.Contains(prob.Message, "the dynamic loader /lib/ld-other.so that /app2 needs is an "+archName(uint16(otherMachine()))) {
		t.Errorf("/app2: got %+v", prob)
	}
}

// dynamicBinary is a dynamically linked binary of the host, or a skip.
func dynamicBinary(t *testing.T) string {
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		info, ok := readELF(f)
		f.Close()
		if ok && info.interp != "" {
			return p
		}
	}
	t.Skip("no dynamically linked /bin/true on this host")
	return ""
}

func TestNoExecMount(t *testing.T) {
	host, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	dir := makeRootfs(t, map[string]file{"opt/app": {data: string(host), mode: 0o755}})
	src := makeRootfs(t, map[string]file{"tool": {data: string(host), mode: 0o755}})
	r := hostRoot(t, dir, Options{Mounts: []Mount{
		{Index: 3, Destination: "/opt", Source: filepath.Join(dir, "opt"), NoExec: true},
		{Index: 4, Destination: "/srv", Source: src},
		{Index: 5, Destination: "/run"},
	}})
	prob := r.Exec("/opt/app")
	if prob == nil || prob.Kind != NoExec || !strings.Contains(prob.Message, "mounts[3] (/opt), which has the noexec option") {
		t.Errorf("/opt/app: want %s, got %+v", NoExec, prob)
	}
	// The bind's source is looked at, not the rootfs under the mount.
	if prob := r.Exec("/srv/tool"); prob != nil {
		t.Errorf("/srv/tool: want no problem, got %+v", prob)
	}
	// A tmpfs and the like: nothing to say.
	if prob := r.Exec("/run/x"); prob != nil {
		t.Errorf("/run/x: want no problem, got %+v", prob)
	}
}

// TestNeverOpensSpecialFiles: a FIFO (which would block) or a device
// (whose open may act) in an image is looked at, never opened.
func TestNeverOpensSpecialFiles(t *testing.T) {
	dir := makeRootfs(t, map[string]file{"bin/ok": {data: "x", mode: 0o755}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o755))
	must(os.Mkdir(filepath.Join(dir, "etc"), 0o755))
	must(unix.Mkfifo(filepath.Join(dir, "etc", "passwd"), 0o644))
	r := hostRoot(t, dir, Options{})
	if prob := r.Exec("/fifo"); prob == nil || prob.Kind != NotRegular || !strings.Contains(prob.Message, "/fifo is a FIFO") {
		t.Errorf("/fifo: got %+v", prob)
	}
	if f, err := r.Open("/etc/passwd"); !errors.Is(err, ErrNotRegular) {
		if f != nil {
			f.Close()
		}
		t.Errorf("Open of a FIFO: got %v", err)
	}
	if dir, err := r.IsDir("/bin"); !dir || err != nil {
		t.Errorf("IsDir(/bin) = %v, %v", dir, err)
	}
}

func TestLookPath(t *testing.T) {
	dir := makeRootfs(t, map[string]file{
		"bin/tool":      {data: "#!/bin/tool\n", mode: 0o755},
		"usr/sbin/adm":  {data: "x", mode: 0o755},
		"usr/bin/plain": {data: "x", mode: 0o644},
		"usr/bin/later": {data: "x", mode: 0o755},
	})
	r := hostRoot(t, dir, Options{})
	path := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	if p, prob := r.LookPath("tool", path); p != "/bin/tool" || prob != nil {
		t.Errorf("tool: got %q, %+v", p, prob)
	}
	if p, prob := r.LookPath("later", path); p != "/usr/bin/later" || prob != nil {
		t.Errorf("later: got %q, %+v", p, prob)
	}
	if p, prob := r.LookPath("./x/y", path); p != "/x/y" || prob != nil {
		t.Errorf("./x/y: got %q, %+v", p, prob)
	}
	for _, c := range []struct {
		name string
		env  []string
		kind string
		want string
	}{
		{"nothere", path, NotFound, `"nothere" was not found along PATH (/usr/local/bin:/usr/bin:/bin)`},
		{"adm", path, NotFound, `"adm" is at /usr/sbin/adm, which is not along PATH`},
		{"tool", nil, NotFound, "process.env sets no PATH"},
		{"plain", path, NotExecutable, `"plain" is along PATH, but /usr/bin/plain has no execute permission (mode 0644)`},
	} {
		_, prob := r.LookPath(c.name, c.env)
		if prob == nil || prob.Kind != c.kind || !strings.Contains(prob.Message, c.want) {
			t.Errorf("%s: want %s %q, got %+v", c.name, c.kind, c.want, prob)
		}
	}
}

func TestParseShebang(t *testing.T) {
	for in, want := range map[string]shebang{
		"#!/bin/sh\n":              {interp: "/bin/sh"},
		"#! /bin/sh -e\n":          {interp: "/bin/sh", arg: "-e"},
		"#!\t/usr/bin/env  a b \n": {interp: "/usr/bin/env", arg: "a b"},
		"#!/bin/sh\r\n":            {interp: "/bin/sh\r"},
		"#!/bin/sh":                {interp: "/bin/sh"},
	} {
		got, ok := parseShebang([]byte(in))
		if !ok || got != want {
			t.Errorf("%q: got %+v %v, want %+v", in, got, ok, want)
		}
	}
	if _, ok := parseShebang([]byte("#! \t\n/bin/sh")); ok {
		t.Error("#! with only blanks: want no interpreter")
	}
}

// TestWrapContainer: Wrap in the process's own root (as in the init) keeps
// err for errors.Is and appends the reason only when it can explain err.
func TestWrapContainer(t *testing.T) {
	dir := makeRootfs(t, map[string]file{
		"nobash.sh": {data: "#!/no/such/interp\n", mode: 0o755},
		"arm":       {data: string(elfHeader(otherMachine())), mode: 0o755},
	})
	script := filepath.Join(dir, "nobash.sh")
	err := Wrap(unix.ENOENT, script)
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "no such file or directory: the interpreter /no/such/interp named on the first line of "+script) {
		t.Errorf("script: got %v", err)
	}
	// ENOEXEC cannot come from a missing interpreter: nothing added.
	if err := Wrap(unix.ENOEXEC, script); err != unix.ENOEXEC {
		t.Errorf("script with ENOEXEC: got %v", err)
	}
	if err := Wrap(unix.ENOEXEC, filepath.Join(dir, "arm")); !strings.Contains(err.Error(), "exec format error: "+filepath.Join(dir, "arm")+" is a") {
		t.Errorf("arm: got %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if err := Wrap(unix.ENOENT, missing); err != unix.ENOENT {
		t.Errorf("a plain missing file: want err unchanged, got %v", err)
	}
	if err := Wrap(unix.E2BIG, missing); !strings.Contains(err.Error(), "larger than the kernel accepts") {
		t.Errorf("E2BIG: got %v", err)
	}
}

// TestReadELF: the hand-made reader agrees with debug/elf on real
// binaries (a static Go test binary, a dynamic C one) and the test headers.
func TestReadELF(t *testing.T) {
	files := map[string][]byte{}
	for _, p := range []string{"/proc/self/exe", "/bin/true", "/bin/busybox", "/usr/bin/env"} {
		if b, err := os.ReadFile(p); err == nil {
			files[p] = b
		}
	}
	files["header only"] = elfHeader(elf.EM_AARCH64)
	files["with loader"] = elfWithLoader(elf.EM_X86_64, "/lib/ld-musl-x86_64.so.1")
	for name, b := range files {
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: debug/elf: %v", name, err)
		}
		want := elfInfo{machine: uint16(ef.Machine), typ: uint16(ef.Type)}
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				buf := make([]byte, p.Filesz)
				p.ReadAt(buf, 0)
				want.interp = strings.TrimRight(string(buf), "\x00")
			}
		}
		got, ok := readELF(bytes.NewReader(b))
		if !ok || got != want {
			t.Errorf("%s: readELF = %+v %v, debug/elf says %+v", name, got, ok, want)
		}
	}
	for name, b := range map[string][]byte{
		"short":     []byte("\x7fELF\x02\x01"),
		"bad class": append([]byte("\x7fELF\x07\x01"), make([]byte, 60)...),
		"cut phdrs": elfWithLoader(elf.EM_X86_64, "/x")[:100],
		"huge interp": func() []byte {
			b := elfWithLoader(elf.EM_X86_64, "/x")
			binary.LittleEndian.PutUint64(b[64+32:], 1<<40)
			return b
		}(),
	} {
		if _, ok := readELF(bytes.NewReader(b)); ok {
			t.Errorf("%s: readELF accepted it", name)
		}
	}
}

func TestBinfmtMatch(t *testing.T) {
	// qemu-aarch64's registration (magic and mask from qemu-binfmt-conf.sh).
	h := binfmtEntry{
		magic: []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"),
		mask:  []byte("\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"),
	}
	if !h.matches(elfHeader(elf.EM_AARCH64)) {
		t.Error("an arm64 header does not match qemu-aarch64's entry")
	}
	if h.matches(elfHeader(elf.EM_X86_64)) {
		t.Error("an amd64 header matches qemu-aarch64's entry")
	}
	if h.matches([]byte("\x7fELF")) {
		t.Error("a short header matches")
	}
}

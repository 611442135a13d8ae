package startup

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const prefaultChildEnv = "NOOK_STARTUP_PREFAULT_CHILD"

// TestCodeMappedAtStart: the constructor maps the binary's read-only
// segments, except when turned off, in a container's init, in an exit
// keeper and in a user-namespace holder.
func TestCodeMappedAtStart(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    []string
		mapped bool
	}{
		{"a command", nil, true},
		{"turned off", []string{"_NOOK_PREFAULT=off"}, false},
		{"a container's init", []string{"_NOOK_INITPIPE=1000"}, false},
		{"an exit keeper", []string{"_NOOK_EXIT_KEEPER=1 2 0"}, false},
		{"a user-namespace holder", []string{"_NOOK_USERNS_HOLDER=1"}, false},
	} {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append([]string{prefaultChildEnv + "=" + strconv.FormatBool(tc.mapped)}, tc.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, out)
		}
	}
}

// prefaultChild checks, in a child started by TestCodeMappedAtStart, what
// the constructor did: nothing, or every read-only segment mapped, at
// least the whole code mapping and all of it in memory.
func prefaultChild(mapped string) int {
	bytes := prefaultBytes()
	if mapped != "true" {
		if bytes != 0 {
			fmt.Printf("the constructor mapped %d bytes, want nothing\n", bytes)
			return 1
		}
		return 0
	}
	size, rss, err := codeMapping()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if bytes < int64(size)*1024 {
		fmt.Printf("the constructor mapped %d bytes, less than the %d kB code mapping\n", bytes, size)
		return 1
	}
	if rss < size {
		fmt.Printf("the code mapping has %d of its %d kB in memory, want all\n", rss, size)
		return 1
	}
	return 0
}

// codeMapping is the Size and Rss, in kB, of this program's executable
// mapping (smaps).
func codeMapping() (size, rss int, err error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 6 && strings.Contains(fields[0], "-"):
			in = fields[1] == "r-xp" && fields[5] == exe
		case in && len(fields) == 3 && fields[0] == "Size:":
			size, _ = strconv.Atoi(fields[1])
		case in && len(fields) == 3 && fields[0] == "Rss:":
			rss, _ = strconv.Atoi(fields[1])
			return size, rss, nil
		}
	}
	return 0, 0, fmt.Errorf("no r-xp mapping of %s in smaps", exe)
}

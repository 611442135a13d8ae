package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Ids up to 1024 characters must work although a file name holds at most 255.
func TestLongIDRoundTrip(t *testing.T) {
	s := Store{Root: t.TempDir()}
	id := strings.Repeat("a", 1024)
	h, err := s.Create(id)
	if err != nil {
		t.Fatalf("create 1024-character id: %v", err)
	}
	if len(filepath.Base(h.Dir)) > 255 {
		t.Fatalf("state dir name is %d characters", len(filepath.Base(h.Dir)))
	}
	h.Close()
	ids, err := s.List()
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("List = %d ids (%v), want the long id", len(ids), err)
	}
	if _, err := s.Create(id); err == nil {
		t.Fatal("second create of the same long id succeeded")
	}
	h, err = s.Lock(id, true)
	if err != nil {
		t.Fatalf("lock long id: %v", err)
	}
	if err := h.Destroy(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(s.Root); len(entries) != 0 {
		t.Fatalf("%d entries left in the root after destroy", len(entries))
	}
}

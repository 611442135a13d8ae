package cgroups

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// OOMEvents delivers one value per OOM kill in the container's cgroup (or
// its sub-cgroups) until ctx ends or the cgroup is removed; then the
// channel is closed. Kills before the call are not reported.
func (m *fsManager) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	p := &planner{m: m}
	dir, v2, err := p.dest("cgroups: OOM events", "memory", "memory")
	if err != nil && m.st.Rootless {
		// No memory cgroup the user may read: no event can come, and
		// the stream of statistics goes on without any.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v2 {
		return oomEventsV2(ctx, dir)
	}
	return oomEventsV1(ctx, dir)
}

// oomCount reads the oom_kill counter of a v1 memory.oom_control or a v2
// memory.events file.
func oomCount(dir, file string) (uint64, bool) {
	kv, err := readKeyValues(dir, file)
	if err != nil {
		return 0, false
	}
	n, ok := kv["oom_kill"]
	return n, ok
}

// OOMKillCount is how many processes the kernel's OOM killer has killed
// in the cgroup st records: its memory controller's oom_kill counter (v1
// memory.oom_control, Linux 4.13; v2 memory.events). ok is false when
// there is no memory cgroup to ask or no counter in it.
func OOMKillCount(st State) (n uint64, ok bool) {
	f := OOMKillFile(st)
	if f == "" {
		return 0, false
	}
	return oomCount(filepath.Dir(f), filepath.Base(f))
}

// OOMKillFile is the file holding OOMKillCount's counter ("" when st has
// no memory cgroup), for a reader that keeps it open.
func OOMKillFile(st State) string {
	if d := st.Paths["memory"]; d != "" && st.Mode != ModeV2 {
		return filepath.Join(d, "memory.oom_control")
	}
	if d := st.Paths[""]; d != "" {
		return filepath.Join(d, "memory.events")
	}
	return ""
}

// watch runs a reader on a non-blocking fd handed to Go's poller, so that
// closing it when ctx ends wakes the reader. next returns how many values
// to send for what it read, and false to stop.
func watch(ctx context.Context, f *os.File, cleanup func(), next func(buf []byte) (int, bool)) <-chan struct{} {
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			f.Close()
		case <-done:
		}
	}()
	go func() {
		defer close(ch)
		defer close(done)
		defer cleanup()
		defer f.Close()
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			count, more := next(buf[:n])
			for i := 0; i < count; i++ {
				select {
				case ch <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
			if !more {
				return
			}
		}
	}()
	return ch
}

// oomEventsV1 registers an eventfd for memory.oom_control through
// cgroup.event_control. The eventfd also fires when the cgroup is removed,
// which ends the stream.
func oomEventsV1(ctx context.Context, dir string) (<-chan struct{}, error) {
	ocPath := filepath.Join(dir, "memory.oom_control")
	oc, err := unix.Open(ocPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroups: OOM events: %w", &os.PathError{Op: "open", Path: ocPath, Err: err})
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(oc)
		return nil, fmt.Errorf("cgroups: OOM events: eventfd: %w", err)
	}
	if err := writeFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, oc)); err != nil {
		unix.Close(efd)
		unix.Close(oc)
		return nil, fmt.Errorf("cgroups: OOM events: %w", err)
	}
	last, haveCount := oomCount(dir, "memory.oom_control")
	ef := os.NewFile(uintptr(efd), "oom-eventfd")
	return watch(ctx, ef, func() { unix.Close(oc) }, func(buf []byte) (int, bool) {
		if len(buf) < 8 || !exists(ocPath) {
			return 0, false
		}
		n := int(binary.NativeEndian.Uint64(buf[:8]))
		// Count kills when the kernel counts them (4.13+); a wake-up
		// without a kill (OOM killer disabled) still reports the OOM.
		if cur, ok := oomCount(dir, "memory.oom_control"); ok && haveCount {
			n = max(int(cur-last), 1)
			last = cur
		}
		return n, true
	}), nil
}

// oomEventsV2 watches memory.events with inotify and reports each increase
// of its oom_kill counter; the watch ends (IN_IGNORED) when the cgroup is
// removed.
func oomEventsV2(ctx context.Context, dir string) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("cgroups: OOM events: inotify: %w", err)
	}
	evPath := filepath.Join(dir, "memory.events")
	if _, err := unix.InotifyAddWatch(fd, evPath, unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cgroups: OOM events: watching %s: %w", evPath, err)
	}
	last, _ := oomCount(dir, "memory.events")
	f := os.NewFile(uintptr(fd), "oom-inotify")
	return watch(ctx, f, func() {}, func(buf []byte) (int, bool) {
		more := true
		for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
			// struct inotify_event: wd, mask, cookie, len, name[len]
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			if mask&unix.IN_IGNORED != 0 {
				more = false
			}
			off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
		}
		cur, ok := oomCount(dir, "memory.events")
		if !ok || cur <= last {
			return 0, more
		}
		n := int(cur - last)
		last = cur
		return n, more
	}), nil
}

package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteDefault writes Default(rootless) to <bundle>/config.json, indented
// and newline-terminated, mode 0644. It never overwrites an existing file:
// a hand-edited config is worth more than a default one.
func WriteDefault(bundle string, rootless bool) error {
	fi, err := os.Stat(bundle)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", bundle, bareErr(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("bundle %s: %w", bundle, syscall.ENOTDIR)
	}
	data, err := json.MarshalIndent(Default(rootless), "", "\t")
	if err != nil {
		return fmt.Errorf("encode default config: %w", err)
	}
	data = append(data, '\n')

	path := filepath.Join(bundle, configName)
	// O_EXCL makes the existence check and the creation one step, so a
	// config appearing meanwhile is not clobbered.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		// Capitalised and worded like runc's message, which users know.
		return fmt.Errorf("File %s exists. Remove it first", path) //nolint:staticcheck,stylecheck // ST1005: runc wording
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, bareErr(err))
	}
	if err := writeAndClose(f, data); err != nil {
		_ = os.Remove(path) // leave no half-written config behind
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeAndClose(f *os.File, data []byte) error {
	// Chmod because the mode given to open is filtered by the umask, and
	// the result must be exactly 0644.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

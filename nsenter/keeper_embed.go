//go:build keeperelf

package nsenter

import _ "embed" // the keeper program

// keeperELF is keeper.c built on its own by `make build` (keeper.bin).
//
//go:embed keeper.bin
var keeperELF []byte

// KeeperProgram is the exit keeper as a program of its own, to execute
// from a sealed memfd; nil in a binary built without it, which runs the
// keeper from its own constructor instead.
func KeeperProgram() []byte { return keeperELF }

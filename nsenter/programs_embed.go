//go:build keeperelf

package nsenter

import _ "embed" // the keeper and parker programs

// keeperELF is keeper.c built on its own by `make build` (keeper.bin).
//
//go:embed keeper.bin
var keeperELF []byte

// parkerELF is parker.c built on its own by `make build` (parker.bin).
//
//go:embed parker.bin
var parkerELF []byte

// KeeperProgram is the exit keeper as a program of its own, to execute
// from a sealed memfd; nil in a binary built without it, which runs the
// keeper from its own constructor instead.
func KeeperProgram() []byte { return keeperELF }

// ParkerProgram is what a container's init left in created becomes while
// it waits for start (parker.c), to execute from a sealed memfd; nil in a
// binary built without it, whose init waits as it is.
func ParkerProgram() []byte { return parkerELF }

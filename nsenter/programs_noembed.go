//go:build !keeperelf

package nsenter

// KeeperProgram: a binary built without the keeperelf tag (plain `go
// build`, unit tests) has no keeper program of its own; the keeper then
// runs from nook's binary (keeper.c's constructor).
func KeeperProgram() []byte { return nil }

// ParkerProgram: nor a parker; its container inits wait for start as the
// Go program they are.
func ParkerProgram() []byte { return nil }

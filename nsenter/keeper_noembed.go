//go:build !keeperelf

package nsenter

// KeeperProgram: a binary built without the keeperelf tag (plain `go
// build`, unit tests) has no keeper program of its own; the keeper then
// runs from nook's binary (keeper.c's constructor).
func KeeperProgram() []byte { return nil }

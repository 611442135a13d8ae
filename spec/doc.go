// Package spec reads, checks and produces OCI runtime-spec configuration:
// config.json loading with precise error positions, validation whose every
// error names the offending JSON path, the default config written by
// `nook spec`, and the features document printed by `nook features`.
//
// Engines show only the last error line of a failed create, so every error
// here is a single line that says which file, which field and what is wrong.
package spec

package seccomp

import "testing"

func BenchmarkCompileDockerDefault(b *testing.B) {
	s := loadProfile(b, "docker-default.json", "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileDockerDefaultCached(b *testing.B) {
	s := loadProfile(b, "docker-default.json", "")
	dir := b.TempDir()
	if _, err := CompileCached(s, nil, dir); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileCached(s, nil, dir); err != nil {
			b.Fatal(err)
		}
	}
}

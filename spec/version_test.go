package spec

import "testing"

func TestCheckVersion(t *testing.T) {
	accept := []string{
		"1.0.0", "1.0.1", "1.0.2", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.0.0-rc5",
		"1.2.0", "1.2.1", "1.3.0", "1.3.0-dev", "1.3.7", "1.2.0+build.5",
	}
	for _, v := range accept {
		if err := checkVersion(v); err != nil {
			t.Errorf("checkVersion(%q) = %v, want nil", v, err)
		}
	}
	refuse := []string{
		"2.0.0", "2.0.0-dev", "0.9.0", "1.4.0", "1.10.0", "1", "1.0", "1.0.0.0", "v1.0.0",
		"01.0.0", "1.0.0-", "garbage", " 1.0.0", "1.0.0 ",
	}
	for _, v := range refuse {
		err := checkVersion(v)
		want := `unsupported ociVersion "` + v + `": nook supports 1.0.0 to 1.3.0`
		if errString(err) != want {
			t.Errorf("checkVersion(%q) = %q, want %q", v, errString(err), want)
		}
	}
	if got := errString(checkVersion("")); got != "ociVersion: required" {
		t.Errorf("checkVersion(\"\") = %q", got)
	}
}

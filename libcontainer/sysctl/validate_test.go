package sysctl

import (
	"strings"
	"testing"
)

func TestValidateAccepts(t *testing.T) {
	all := Namespaces{IPC: true, Net: true, UTS: true}
	tests := []struct {
		name string
		ns   Namespaces
		keys []string
	}{
		{"nothing", Namespaces{}, nil},
		{"ipc keys with ipc ns", Namespaces{IPC: true}, []string{
			"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
			"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "fs.mqueue.queues_max",
		}},
		{"net keys with net ns", Namespaces{Net: true}, []string{
			"net.ipv4.ip_forward", "net.core.somaxconn", "net/ipv4/conf/eth0.100/rp_filter",
		}},
		{"uts keys with uts ns", Namespaces{UTS: true}, []string{"kernel.hostname", "kernel.domainname"}},
		{"everything", all, []string{"kernel.sem", "net.ipv4.ip_forward", "kernel.domainname"}},
		{"user keys with user ns", Namespaces{User: true}, []string{
			"user.max_user_namespaces", "user.max_net_namespaces", "user/max_inotify_watches",
		}},
	}
	for _, tt := range tests {
		m := map[string]string{}
		for _, k := range tt.keys {
			m[k] = "1"
		}
		if err := Validate(m, tt.ns); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	all := Namespaces{IPC: true, Net: true, UTS: true}
	tests := []struct {
		key  string
		ns   Namespaces
		want string
	}{
		{"vm.swappiness", all, `linux.sysctl: "vm.swappiness" is not in a separate kernel namespace of this container; refusing to set it (it would change the host)`},
		{"kernel.pid_max", all, `"kernel.pid_max" is not in a separate kernel namespace`},
		{"fs.file-max", all, `"fs.file-max" is not in a separate kernel namespace`},
		{"kernel.shmmax", Namespaces{Net: true, UTS: true}, `"kernel.shmmax" belongs to the ipc namespace and the container has none of its own`},
		{"fs.mqueue.msg_max", Namespaces{Net: true}, `"fs.mqueue.msg_max" belongs to the ipc namespace`},
		{"net.ipv4.ip_forward", Namespaces{IPC: true, UTS: true}, `"net.ipv4.ip_forward" belongs to the network namespace`},
		{"net/core/somaxconn", Namespaces{IPC: true}, `"net.core.somaxconn" belongs to the network namespace`},
		{"kernel.hostname", Namespaces{IPC: true, Net: true}, `"kernel.hostname" belongs to the uts namespace`},
		{"kernel.domainname", Namespaces{}, `"kernel.domainname" belongs to the uts namespace`},
		{"user.max_user_namespaces", all, `linux.sysctl: "user.max_user_namespaces" belongs to the user namespace and the container has none of its own; refusing to set it (it would change the host)`},
		{"user/max_mnt_namespaces", all, `"user.max_mnt_namespaces" belongs to the user namespace`},
		// A user namespace makes only the user.* keys its own.
		{"vm.swappiness", Namespaces{User: true}, `"vm.swappiness" is not in a separate kernel namespace`},
		{"kernel.shmmax", Namespaces{User: true}, `"kernel.shmmax" belongs to the ipc namespace`},
		{"net/../../kernel/core_pattern", all, `linux.sysctl: sysctl name "net/../../kernel/core_pattern" has a ".." level`},
		{"net..ipv4", all, "empty level"},
	}
	for _, tt := range tests {
		err := Validate(map[string]string{tt.key: "1"}, tt.ns)
		if err == nil {
			t.Errorf("Validate(%q, %+v) accepted it", tt.key, tt.ns)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%q, %+v) = %q, want it to contain %q", tt.key, tt.ns, err, tt.want)
		}
	}
}

func TestValidateReportsFirstKeyInSortedOrder(t *testing.T) {
	m := map[string]string{"vm.z": "1", "net.ipv4.ip_forward": "1", "kernel.a": "1", "vm.a": "1"}
	for range 20 { // map order is random; the error must not be
		err := Validate(m, Namespaces{Net: true})
		if err == nil || !strings.Contains(err.Error(), `"kernel.a"`) {
			t.Fatalf("Validate = %v, want the error about kernel.a", err)
		}
	}
}

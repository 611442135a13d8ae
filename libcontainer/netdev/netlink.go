package netdev

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rtnl is a NETLINK_ROUTE socket, bound to the network namespace of the
// thread that opened it: what it asks applies there.
type rtnl struct {
	fd  int
	seq uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (s *rtnl) Close() error { return unix.Close(s.fd) }

// attr encodes one route attribute (struct rtattr and its payload, padded).
func attr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(unix.SizeofRtAttr+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func nativeU32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }

// unsafePointer views the start of a received message as a kernel struct
// (the caller has checked its length).
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

// cstring is an attribute value the kernel reads as a C string.
func cstring(s string) []byte { return append([]byte(s), 0) }

// ifinfo encodes struct ifinfomsg.
func ifinfo(index int32, flags, change uint32) []byte {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: index, Flags: flags, Change: change}
	return unsafe.Slice((*byte)(unsafe.Pointer(&m)), unix.SizeofIfInfomsg)
}

// ifaddr encodes struct ifaddrmsg.
func ifaddr(m unix.IfAddrmsg) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&m)), unix.SizeofIfAddrmsg)
}

// send writes one request and returns the replies up to its ACK (or, for a
// dump, NLMSG_DONE). A negative NLMSG_ERROR is returned as its errno.
func (s *rtnl) send(typ uint16, flags uint16, body ...[]byte) ([]syscall.NetlinkMessage, error) {
	s.seq++
	var payload []byte
	for _, b := range body {
		payload = append(payload, b...)
	}
	h := unix.NlMsghdr{
		Len:   uint32(unix.SizeofNlMsghdr + len(payload)),
		Type:  typ,
		Flags: unix.NLM_F_REQUEST | flags,
		Seq:   s.seq,
	}
	msg := append(unsafe.Slice((*byte)(unsafe.Pointer(&h)), unix.SizeofNlMsghdr), payload...)
	if err := unix.Sendto(s.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out []syscall.NetlinkMessage
	for {
		// A fresh buffer each time: the messages kept point into it.
		buf := make([]byte, 1<<16)
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Seq != s.seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, fmt.Errorf("netlink: short error message")
				}
				if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return nil, syscall.Errno(-errno)
				}
				return out, nil // the ACK
			default:
				out = append(out, m)
			}
		}
	}
}

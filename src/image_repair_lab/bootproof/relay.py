"""One guest TCP connection relayed to a host port: ``python -m image_repair_lab.bootproof.relay PORT``.

qemu's ``guestfwd=tcp:100.100.100.200:80-cmd:...`` starts this command for each connection the
guest opens to 100.100.100.200:80, with the connection on stdin/stdout; we copy bytes both ways
to 127.0.0.1:PORT (the in-process metadata emulator). A ``tcp:`` chardev target would carry only
one connection for the whole boot, and cloud-init opens many.
"""
import os
import selectors
import socket
import sys


def relay(port: int, stdin_fd: int = 0, stdout_fd: int = 1, host: str = "127.0.0.1", idle: float = 60):
    with socket.create_connection((host, port), timeout=30) as conn:
        selector = selectors.DefaultSelector()
        selector.register(stdin_fd, selectors.EVENT_READ, "guest")
        selector.register(conn, selectors.EVENT_READ, "host")
        while True:
            events = selector.select(timeout=idle)
            if not events:
                return  # idle: the guest went away without closing
            for key, _ in events:
                if key.data == "guest":
                    data = os.read(stdin_fd, 65536)
                    if data:
                        conn.sendall(data)
                    else:  # the guest finished its request: half-close, wait for the answer
                        selector.unregister(stdin_fd)
                        conn.shutdown(socket.SHUT_WR)
                else:
                    data = conn.recv(65536)
                    if not data:
                        return  # the server closed (HTTP/1.0): the guest sees EOF when we exit
                    os.write(stdout_fd, data)


if __name__ == "__main__":
    relay(int(sys.argv[1]))

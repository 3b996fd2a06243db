"""The AliYun metadata emulator and the guestfwd relay, over real loopback sockets."""
import os
import subprocess
import sys
import threading
import urllib.request

from image_repair_lab.bootproof.metadata import TOKEN, MetadataServer
from image_repair_lab.bootproof.relay import relay


def test_routes_of_the_aliyun_datasource():
    server = MetadataServer(hostname="guest-a", user_data="#cloud-config\n{}\n", vendor_data="vd")
    try:
        assert server.respond("GET", "/latest/meta-data/hostname") == (200, "guest-a")
        assert server.respond("GET", "/2016-01-01/meta-data/instance-id") == (200, "i-bootproof0000000001")
        status, listing = server.respond("GET", "/2016-01-01/meta-data/")
        assert status == 200 and "hostname" in listing.split("\n") and "instance/" in listing.split("\n")
        assert server.respond("GET", "/latest/meta-data/instance/instance-type") == (200, "ecs.g7.large")
        assert server.respond("GET", "/latest/user-data") == (200, "#cloud-config\n{}\n")
        assert server.respond("GET", "/latest/vendor-data") == (200, "vd")
        assert server.respond("PUT", "/latest/api/token") == (200, TOKEN)
        assert server.respond("GET", "/latest/meta-data/no-such-key")[0] == 404
        assert server.respond("GET", "/latest/meta-data/hostname/extra")[0] == 404
        assert server.respond("POST", "/latest/meta-data/hostname")[0] == 404
    finally:
        server._httpd.server_close()


def test_served_over_http_and_logged():
    with MetadataServer(hostname="guest-b") as server:
        with urllib.request.urlopen("http://127.0.0.1:%d/latest/meta-data/hostname" % server.port, timeout=5) as r:
            assert r.read() == b"guest-b"
        assert server.requests == [("GET", "/latest/meta-data/hostname", 200)]


def test_relay_carries_one_connection_both_ways():
    """What qemu's guestfwd cmd: does: the guest's bytes on stdin, the answer on stdout."""
    with MetadataServer(hostname="guest-c") as server:
        guest_in_r, guest_in_w = os.pipe()
        guest_out_r, guest_out_w = os.pipe()
        os.write(guest_in_w, b"GET /latest/meta-data/hostname HTTP/1.0\r\n\r\n")
        os.close(guest_in_w)
        thread = threading.Thread(target=relay, args=(server.port, guest_in_r, guest_out_w), kwargs={"idle": 5})
        thread.start()
        thread.join(10)
        os.close(guest_out_w)
        answer = b""
        while True:
            chunk = os.read(guest_out_r, 65536)
            if not chunk:
                break
            answer += chunk
        os.close(guest_in_r)
        os.close(guest_out_r)
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"\r\n\r\nguest-c")


def test_relay_as_qemu_starts_it():
    with MetadataServer(hostname="guest-d") as server:
        result = subprocess.run([sys.executable, "-m", "image_repair_lab.bootproof.relay", str(server.port)],
                                input=b"GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n",
                                stdout=subprocess.PIPE, timeout=30, check=True)
    assert result.stdout.endswith(b"i-bootproof0000000001")

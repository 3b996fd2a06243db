"""Reading the boot marker (guestconfig.MARKER_SCRIPT_TEXT) out of a guest's serial log.

    result = parse_boot_log(serial_text)
    result.reached            # the marker line was seen: multi-user.target was reached
    result.root_uuid          # UUID of the filesystem mounted on /, from findmnt
    result.eth0_ipv4          # ["10.0.2.15/24"]: eth0's IPv4 addresses ([] without DHCP)
"""
import re

from .guestconfig import MARKER_PREFIX


class BootResult:
    def __init__(self):
        self.reached = False
        self.complete = False
        self.kernel = None
        self.root_source = None
        self.root_fstype = None
        self.root_uuid = None
        self.eth0_ipv4 = []
        self.lines = []

    def __repr__(self):
        return "BootResult(reached=%r, root=%r uuid=%r, eth0=%r)" % (self.reached, self.root_source, self.root_uuid,
                                                                    self.eth0_ipv4)


def parse_boot_log(text: str) -> BootResult:
    """Parse the marker lines; anything else on the serial console (kernel, systemd) is ignored."""
    result = BootResult()
    header = None
    for raw in text.replace("\r", "").splitlines():
        index = raw.find(MARKER_PREFIX + " ")
        if index < 0:
            continue
        line = raw[index + len(MARKER_PREFIX) + 1:]
        result.lines.append(line)
        if line.startswith("marker"):
            result.reached = True
            match = re.search(r"kernel=(\S+)", line)
            result.kernel = match.group(1) if match else None
        elif line == "end":
            result.complete = True
        elif line.startswith("findmnt: "):
            fields = line[len("findmnt: "):].split()
            if fields[:1] == ["TARGET"]:
                header = fields
            elif header and fields[:1] == ["/"]:
                row = dict(zip(header, fields))
                result.root_source, result.root_fstype = row.get("SOURCE"), row.get("FSTYPE")
                result.root_uuid = row.get("UUID")
        elif line.startswith("ip: "):
            match = re.match(r"\s*inet (\S+) .*\beth0$", line[len("ip: "):])
            if match:
                result.eth0_ipv4.append(match.group(1))
    return result

"""Network planners, one per format: golden files (several files in, writes and removes out).

Case files under golden/network/ are named ``<format>__<case>.input``; each holds files as
``=== <guest path>`` sections. The ``.expected`` file lists the plan: ``=== write <path>`` with the
new text, ``=== remove <path>``, then ``=== findings``. A second plan over the result must be
empty (nothing left to change)."""
import pytest

from image_repair.agent.guest.netconf import ifcfg, ifupdown, netplan, networkd, nm_keyfile, wicked
from image_repair.agent.guest.netconf import sysconfig

from .golden_files import cases, check, read

PLANNERS = {"ifcfg": ifcfg, "ifupdown": ifupdown, "netplan": netplan, "nm": nm_keyfile,
            "wicked": wicked, "networkd": networkd}


def parse_files(text):
    files = {}
    current = None
    for line in text.splitlines(True):
        if line.startswith("=== "):
            current = line[4:].rstrip("\n")
            files[current] = ""
        elif current is not None:
            files[current] += line
    return files


def render(plan):
    out = []
    for path in sorted(plan.writes):
        out.append("=== write %s\n%s" % (path, plan.writes[path]))
    for path in plan.removes:
        out.append("=== remove %s\n" % path)
    out.append("=== findings\n" + "".join(f + "\n" for f in plan.findings))
    return "".join(out)


def apply(files, plan):
    result = dict(files)
    for path in plan.removes:
        result.pop(path, None)
    result.update(plan.writes)
    return result


@pytest.mark.parametrize("case", cases("network"))
def test_network_golden(case):
    planner = PLANNERS[case.split("__")[0]]
    files = parse_files(read("network", case + ".input"))
    plan = planner.plan(files)
    if planner is nm_keyfile and plan.created:
        pytest.fail("golden NetworkManager cases must not create (the uuid is random)")
    check("network", case, render(plan))
    assert plan.configured or "left alone" in " ".join(plan.findings)
    again = planner.plan(apply(files, plan))
    assert not again.changes(), render(again)


def test_healthy_configurations_need_nothing():
    for case in [c for c in cases("network") if c.endswith("__healthy") or "healthy" in c]:
        planner = PLANNERS[case.split("__")[0]]
        plan = planner.plan(parse_files(read("network", case + ".input")))
        assert not plan.changes() and plan.configured, case


def test_new_nm_connection_is_complete_and_unique():
    plan = nm_keyfile.plan({})
    [(path, text)] = plan.writes.items()
    assert path == "/etc/NetworkManager/system-connections/eth0.nmconnection"
    sections = nm_keyfile.parse(text)
    assert sections["connection"]["interface-name"] == "eth0"
    assert sections["ipv4"]["method"] == "auto"
    assert nm_keyfile.healthy(sections)
    assert nm_keyfile.plan({}).writes[path] != text  # a fresh uuid each time
    assert not nm_keyfile.plan({path: text}).changes()


def test_sysconfig_edit_keeps_quoting_and_unknown_keys():
    text = "# c\nBOOTPROTO='static'\nIPADDR='1.2.3.4/24'\nFOO=bar\n"
    assert sysconfig.edit(text, {"BOOTPROTO": "dhcp", "STARTMODE": "auto"}, ("IPADDR",)) == (
        "# c\nBOOTPROTO='dhcp'\nFOO=bar\nSTARTMODE='auto'\n")
    assert sysconfig.parse('A="x y" # c\nB=z # comment\n') == {"A": "x y", "B": "z"}

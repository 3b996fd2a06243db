"""GUESTOS.Dhcp: eth0 takes its address by DHCP, in the guest's own network stack(s).

An imported image keeps the static address, the MAC binding and the interface name of its old
hypervisor (ens33 on VMware): on ECS it comes up without network. The fix, per stack in
``facts.network_stacks`` (formats in :mod:`..guest.netconf`, one pure planner each):
* the first (most authoritative) stack always ends with an eth0 DHCP configuration, created
  when it had none; further stacks are fixed only where they configure the primary NIC;
* ``/etc/udev/rules.d/70-persistent-net.rules`` (the old MAC pinned to eth0, so the new NIC
  would be eth1) is removed, backed up;
* ``net.ifnames=0 biosdevname=0`` are asked from the BootPlan, so the NIC is called eth0 even
  when the grub item is not run.
"""
from ..guest import model as F
from ..guest.kernel_cmdline import missing_kernel_args
from ..guest.netconf import ifcfg, ifupdown, netplan, networkd, nm_keyfile, wicked
from .base import Detection, RepairItem

PERSISTENT_NET_RULES = "/etc/udev/rules.d/70-persistent-net.rules"
NAMING_ARGS = ["net.ifnames=0", "biosdevname=0"]

# stack -> (planner module, directories, which file names belong to it)
FORMATS = {
    F.IFCFG: (ifcfg, [ifcfg.DIRECTORY], lambda name: name.startswith("ifcfg-")),
    F.WICKED: (wicked, [wicked.DIRECTORY], lambda name: name.startswith("ifcfg-") or name == "routes"),
    F.IFUPDOWN: (ifupdown, ["/etc/network/interfaces.d"], lambda name: not name.startswith(".")),
    F.NETPLAN: (netplan, [netplan.DIRECTORY], lambda name: name.endswith(".yaml")),
    F.NM_KEYFILE: (nm_keyfile, [nm_keyfile.DIRECTORY], lambda name: name.endswith(".nmconnection")),
    F.NETWORKD: (networkd, [networkd.DIRECTORY], lambda name: name.endswith(".network")),
}
# when the facts name no stack: the ones whose files exist, in this order
FALLBACK_ORDER = (F.NETPLAN, F.NM_KEYFILE, F.IFCFG, F.WICKED, F.IFUPDOWN, F.NETWORKD)


def read_stack_files(fs, stack):
    _module, directories, belongs = FORMATS[stack]
    files = {}
    if stack == F.IFUPDOWN and fs.isfile(ifupdown.MAIN):
        files[ifupdown.MAIN] = fs.read_text(ifupdown.MAIN, "")
    for directory in directories:
        for name in fs.listdir(directory):
            path = directory + "/" + name
            if belongs(name) and fs.isfile(path) and not name.endswith(("~", ".bak", ".orig", ".rpmsave", ".dpkg-old")):
                files[path] = fs.read_text(path, "")
    return files


def stacks(guest):
    listed = [s for s in (getattr(guest.facts, "network_stacks", None) or []) if s in FORMATS]
    if listed:
        return listed
    return [s for s in FALLBACK_ORDER if read_stack_files(guest.fs, s)]


def plans(guest):
    """[(stack, NetPlan)] of the stacks that need a change (first stack: always considered)."""
    out = []
    for position, stack in enumerate(stacks(guest)):
        module = FORMATS[stack][0]
        plan = module.plan(read_stack_files(guest.fs, stack))
        if plan.created and position > 0:
            continue  # a secondary stack without a config of the primary NIC is left as it is
        if plan.changes():
            out.append((stack, plan))
    return out


class DhcpItem(RepairItem):
    name = "dhcp"

    def detect(self, guest):
        if not stacks(guest):
            return Detection.risky(["no network configuration found (none of ifcfg, ifupdown, netplan, "
                                    "NetworkManager, wicked, systemd-networkd)"], risk="High")
        findings = []
        for _stack, plan in plans(guest):
            findings.extend(plan.findings)
        if guest.fs.lexists(PERSISTENT_NET_RULES):
            findings.append("%s pins interface names to old MAC addresses" % PERSISTENT_NET_RULES)
        if guest.facts.bootloader:
            findings.extend(missing_kernel_args(guest, NAMING_ARGS))
        if findings:
            return Detection.risky(findings, risk="High")
        return Detection.healthy("eth0 by DHCP (%s)" % ", ".join(stacks(guest)))

    def fix(self, guest, detection):
        if not stacks(guest):
            # no stack at all: the distribution family's usual one
            chosen = {F.RHEL: F.IFCFG, F.SUSE: F.WICKED}.get(guest.facts.family, F.IFUPDOWN)
            todo = [(chosen, FORMATS[chosen][0].plan({}))]
        else:
            todo = plans(guest)
        for _stack, plan in todo:
            for path, text in sorted(plan.writes.items()):
                mode = nm_keyfile.MODE if path.endswith(".nmconnection") or path.startswith(netplan.DIRECTORY) else None
                guest.fs.write_text(path, text, mode=mode)
            for path in plan.removes:
                guest.fs.remove(path)
        if guest.fs.lexists(PERSISTENT_NET_RULES):
            guest.fs.remove(PERSISTENT_NET_RULES)
        if guest.facts.bootloader and missing_kernel_args(guest, NAMING_ARGS):
            guest.boot.require_args(self.name, add=NAMING_ARGS, notes=detection.findings)


ITEM = DhcpItem()

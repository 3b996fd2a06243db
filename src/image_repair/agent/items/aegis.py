"""GUESTOS.SecurityCenterAgent: the Security Center agent (aegis) installed in /usr/local/aegis.

Installed from ``options.aegis_package_url``: a .deb/.rpm package or Alibaba's shell installer
(run with sh in the chroot). Without a URL the item fails and says which option to give.
"""
from ..errors import AgentError
from ..guest import packages
from .base import Detection, RepairItem

AEGIS_DIR = "/usr/local/aegis"


class AegisItem(RepairItem):
    name = "aegis"
    installs_packages = True

    def detect(self, guest):
        if guest.fs.isdir(AEGIS_DIR) and guest.fs.listdir(AEGIS_DIR):
            return Detection.healthy("Security Center agent present in %s" % AEGIS_DIR)
        return Detection.risky(["Security Center agent not installed (%s missing or empty)" % AEGIS_DIR],
                               risk="Medium")

    def fix(self, guest, detection):
        url = guest.options.aegis_package_url
        if not url:
            raise AgentError("the Security Center agent is not installed and no installer was given: pass "
                             "--aegis-package-url (aegisPackageUrl) with the URL of the aegis installer "
                             "script or package")
        packages.install_package_file(guest, url, label="installing the Security Center agent")


ITEM = AegisItem()

"""GUESTOS.CloudAssistant: the Cloud Assistant agent (aliyun-service) installed.

Alibaba publishes it as a .deb and an .rpm; it is installed from ``options.assist_package_url``
(the repair host has no public IP: the URL is usually an internal OSS endpoint or a local copy).
Without a URL the item fails and says which option to give: it never reports a guess.
"""
from ..errors import AgentError
from ..guest import packages
from .base import Detection, RepairItem

PRESENT = ("/usr/sbin/aliyun-service", "/usr/local/share/aliyun-assist")


class AssistItem(RepairItem):
    name = "assist"
    installs_packages = True

    def detect(self, guest):
        found = [p for p in PRESENT if guest.fs.exists(p)]
        if found:
            return Detection.healthy("Cloud Assistant agent present: %s" % ", ".join(found))
        return Detection.risky(["Cloud Assistant agent not installed (no %s)" % " or ".join(PRESENT)], risk="Medium")

    def fix(self, guest, detection):
        url = guest.options.assist_package_url
        if not url:
            raise AgentError("the Cloud Assistant agent is not installed and no package was given: pass "
                             "--assist-package-url (assistPackageUrl) with the URL of the aliyun_assist "
                             ".deb or .rpm package")
        packages.install_package_file(guest, url, label="installing the Cloud Assistant agent")


ITEM = AssistItem()

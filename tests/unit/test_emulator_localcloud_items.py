"""The local cloud's translation of the agent's check-disk report into DetectionOptions items."""
from image_repair.emulator.localcloud import report_to_items


def shapes(report):
    return [item.shape() for item in report_to_items(report)]


def test_at_risk_items_carry_risk_and_information_items_follow():
    report = {"items": [{"name": "virtio", "status": "skipped", "risk": "High"},
                        {"name": "nvme", "status": "skipped", "risk": "Medium"},
                        {"name": "fstab", "status": "ok"},
                        {"name": "selinux", "status": "not_applicable"}],
              "distribution": {"platform": "Debian", "version": "12", "architecture": "x86_64",
                               "boot_mode": "BIOS", "kernels": ["6.1.0-18-cloud-amd64"]}}
    assert shapes(report) == [
        {"Name": "SystemImage", "Value": "Supported"},
        {"Name": "GUESTOS.Virtio", "Value": "UnSupported", "RiskLevel": "High", "RiskCode": "Virtio.AtRisk"},
        {"Name": "GUESTOS.Nvme", "Value": "UnSupported", "RiskLevel": "Medium", "RiskCode": "Nvme.AtRisk"},
        {"Name": "GUESTOS.Fstab", "Value": "Supported"},
        {"Name": "Platform", "Value": "Debian"}, {"Name": "OSVersion", "Value": "12"},
        {"Name": "Architecture", "Value": "x86_64"}, {"Name": "BootMode", "Value": "BIOS"},
        {"Name": "KernelVersion", "Value": "6.1.0-18-cloud-amd64"}]


def test_a_refused_disk_is_an_invalid_system_image():
    report = {"items": [], "error": {"type": "RefusedDisk", "message": "no partition table", "exit_status": 2}}
    assert shapes(report) == [{"Name": "SystemImage", "Value": "Invalid", "RiskLevel": "High",
                               "RiskCode": "SystemImage.RefusedDisk"}]

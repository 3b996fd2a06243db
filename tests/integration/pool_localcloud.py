"""Three real broken guests repaired at once on one pool host of the disk-backed local cloud (test
helper for tests/integration/test_pool_localcloud.py and the boot layer's tests/boot/test_pool_boot.py).

``repaired_on_one_host(folder, guests, keep)`` runs the deployed flow with ``pool: true`` for each
guest (the real SDK, the real agent on each disk's own loop device), all at once on the cloud's
virtual time (local_run.ConcurrentCloudClock, letting the cloud's real work finish before its clock
jumps), and returns the executions, the call log and what ``keep(backend, executions)`` returned
before the cloud was closed (its files are gone after)."""
import copy
from typing import Callable, List, Optional

from image_repair.cli.cloud_target import emulator_defaults
from image_repair.control.agent_build import build_zipapp
from image_repair.control.clients.ecs import EcsPort
from image_repair.control.flow import FlowRunner
from image_repair.control.local_run import ConcurrentCloudClock, load_repair_flow
from image_repair.control.models import flow_input
from image_repair.control.steps.common import Ports
from image_repair.control.steps.runner import bound_handlers
from image_repair.control.steps.start import record_execution
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.emulator.localcloud import LocalCloud
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.testing import mock_ecs, ecs_client

ITEMS = "fstab,grub,virtio,dhcp"        # no package installs: no network needed
HOST_TYPE = "ecs.g7.xlarge"             # 4 vCPUs: 4 repairs at once (one per vCPU, docs/pool.md)


def three_broken_guests() -> List[str]:
    """Three cached Debian guests broken three ways (images other tests build too)."""
    from image_repair_lab.testimages import Recipe, broken_image
    return [str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path),
            str(broken_image(Recipe(firmware="bios", initramfs="dracut", rootfs="ext4", layout="plain"),
                             ["device_names"]).path),
            str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["no_virtio_initramfs"]).path)]


def new_image_file(backend, image_id: str) -> Optional[str]:
    """The system-disk file of a new image of the local cloud."""
    image = backend.images[image_id]
    system = next(m for m in image.mappings if m.type == "system")
    return getattr(backend.snapshots[system.snapshot_id], "backing_file", None)


def repaired_on_one_host(folder: str, guests: List[str], keep: Optional[Callable] = None):
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["instance_types"].append(HOST_TYPE)
    with mock_ecs(seed) as backend:
        cloud = LocalCloud(backend, folder + "/cloud")
        try:
            image_ids = [cloud.add_image(path, name="guest-%d" % n) for n, path in enumerate(guests)]
            store = SQLiteStore(folder + "/state.db", clock=backend.clock.now)
            ports = Ports(store=store, ecs=EcsPort(ecs_client(backend), backend.region), clock=backend.clock.now,
                          agent_zipapp=build_zipapp)
            defaults = dict(emulator_defaults(backend.seed_data), instanceType=HOST_TYPE)
            ids = [record_execution(store, dict(defaults, repairImageId=image_id, repairItems=ITEMS, pool=True))[0]
                   .execution_id for image_id in image_ids]
            clock = ConcurrentCloudClock(backend, real_work=cloud.wait_idle)
            definition = load_repair_flow()

            def flow(execution_id):
                runner = FlowRunner(definition, bound_handlers(ports), clock=clock, region=backend.region)
                return lambda: runner.run(flow_input(execution_id), name=execution_id)
            results = clock.run([flow(execution_id) for execution_id in ids])
            executions = [store.get_execution(execution_id) for execution_id in ids]
            kept = keep(backend, executions) if keep is not None else None
            leases = store.list_slot_leases()
            return results, executions, list(backend.calls), leases, kept
        finally:
            cloud.close()

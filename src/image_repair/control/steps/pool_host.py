"""The pooled path of the repair (issue 13, docs/pool.md): the same flow states, a shared host.

Without a pool each execution launches its own repair host with the source's system snapshot
as a data disk, and deletes it once the disk is repaired. With one (``pool: true`` in the
request, recorded with the execution so a resumed execution keeps its path), the states do this
instead, each step module calling one function here:

- LaunchRepairInstance -> ``lease_slot``: a slot lease on a ready (or launching) pool host of the
  zone (control/pool/leases.py); when the pool has no free slot but a free seat, this execution
  launches the new host (RunInstances, no data disk, tagged as the pool's, never as the
  execution's: clean-up never deletes a shared host; ClientToken from the host's id).
- WaitUntilReady -> ``wait_for_pooled_disk``: the host Running with Cloud Assistant online (the
  launcher marks it ready), then CreateDisk from the image's system snapshot in the host's zone
  (tagged as the execution's, ClientToken), AttachDisk once it is Available, and its serial once
  In_use. Its result carries the host's instance id, which StartRepair and WaitForRepair use.
- ReleaseRepairHost -> ``detach_from_pool``: DetachDisk, the slot given back (the host stays for
  the next image), then the disk Available for SnapshotRepairedDisk, which deletes it after.
- CleanUp: never the pool host; the disk (detached first) and the lease (``release_held_slot``).
"""
from typing import Optional, Tuple

from ..cloud_errors import CloudError
from ..pool.leases import acquire_slot, release_slot
from ..pool.hosts import NotInState, abandon_launch, drain_host, mark_host_ready, mark_host_released
from ..pool.models import (HostState, InstanceTypeSpec, PoolBusy, PoolHostChanged, PoolSettings, SlotLease,
                           SlotLeaseLost)
from ..policy import TAG_EXECUTION
from .common import Ports, ResourceFailed, StepError, client_token, once, seconds_since, tags_for
from .host_lifetime import HOST_LIFETIME_S, keep_alive, release_time

TAG_POOL_HOST = "image-repair:pool-host"      # on a pool host: its host id (never the execution tag)
LEASE = "launch_repair_instance"              # the pooled launch step records the lease here
DISK_CREATED = "wait_until_ready.create_disk"
DETACHED = "release_repair_host.detach"
SLOT_RELEASED = "release_repair_host.slot"
TYPICAL_BOOT_S = 30.0
# The disk is made the size of the image's system disk (the new image's mapping says that size):
# an ESSD at PL0 takes 1 GiB and up, PL1 (CreateDisk's default) 20 (docs/cloud-contracts.md,
# "Disks for the pool"). A repair is short and I/O-light next to the host's boot: PL0 is enough.
SMALLEST_LEVEL = {"cloud_essd": "PL0"}
TYPICAL_DISK_S = 10.0                         # CreateDisk from a snapshot, then AttachDisk (docs/emulator.md)
TYPICAL_DETACH_S = 60.0                       # DetachDisk's documented "approximately 1 minute"


def settings_of(ports: Ports) -> PoolSettings:
    return ports.pool or PoolSettings()


def instance_type_spec(ports: Ports, instance_type: str) -> InstanceTypeSpec:
    found = ports.ecs.instance_type(instance_type)
    if found is None:
        raise StepError("instance type %s is not offered in this region (DescribeInstanceTypes)" % instance_type,
                        "InvalidInstanceType")
    return InstanceTypeSpec.model_validate(found)


def lease_of(execution) -> Optional[SlotLease]:
    recorded = execution.steps.get(LEASE)
    lease = (recorded.result or {}).get("lease") if recorded is not None else None
    return SlotLease.model_validate(lease) if lease else None


def lease_slot(ports: Ports, execution, request, base_image_id: str) -> dict:
    """LaunchRepairInstance, pooled: the execution's slot (the one it holds already on a retry),
    and the pool host's launch when the slot is on a new seat. -> the step's recorded result."""
    def work() -> dict:
        spec = instance_type_spec(ports, request.instanceType)
        # PoolBusy (no free slot, no free seat) is transient: the step is answered "retry" (transient.py)
        grant = acquire_slot(ports.store, execution.execution_id, request.zoneId, spec, settings_of(ports))
        # A new seat is ours to launch; so is one we claimed in an attempt that died before its
        # RunInstances answered (the same ClientToken finds the first instance, if any).
        launch = grant.launch or (grant.host.state == HostState.LAUNCHING and grant.host.instance_id is None
                                  and grant.host.launched_by == execution.execution_id)
        result = {"pooled": True, "lease": grant.lease.model_dump(), "hostId": grant.host.host_id,
                  "launched": launch, "autoReleaseTime": ""}
        if launch:
            when = release_time(ports.clock() + HOST_LIFETIME_S)
            host_spec = {"zoneId": request.zoneId, "imageId": base_image_id, "instanceType": request.instanceType,
                         "securityGroupId": request.securityGroupId, "vSwitchId": request.vSwitchId,
                         "systemDiskCategory": request.systemDiskCategory, "name": "image-repair-pool-%d" % grant.host.seat,
                         "autoReleaseTime": when, "dataDisks": []}
            instance_id = ports.ecs.run_instance(host_spec, {TAG_POOL_HOST: grant.host.host_id},
                                                 client_token(grant.host.host_id, "pool-host"))
            ports.store.update_pool_host(grant.host.seat, grant.host.host_id,
                                         lambda host: host.model_copy(update={"instance_id": instance_id}))
            result.update(poolInstanceId=instance_id, autoReleaseTime=when)
        return result

    leased = once(ports, execution.execution_id, LEASE, work)
    ports.say("slot %d on pool host %s%s" % (leased["lease"]["slot"], leased["hostId"],
                                              " (launching it: %s)" % leased["poolInstanceId"] if leased["launched"] else ""))
    return leased


def wait_for_pooled_disk(ports: Ports, execution, request, source: dict):
    """WaitUntilReady, pooled: a poll check (see common.poll) of the host, then of the disk."""
    lease = lease_of(execution)
    leased = execution.steps[LEASE].result
    keep_slot(ports, execution)
    host = ports.store.get_pool_host(lease.seat)
    if host is None or host.host_id != lease.host_id or host.state not in (HostState.LAUNCHING, HostState.READY):
        raise ResourceFailed("pool host %s of slot %d is %s" % (
            lease.host_id, lease.slot, "gone" if host is None or host.host_id != lease.host_id else host.state.value))
    if host.state == HostState.LAUNCHING:
        if not leased["launched"]:       # another execution launches it: wait for it to mark it ready
            return False, "pool host %s ready (launching)" % host.host_id, {}, TYPICAL_BOOT_S - seconds_since(
                ports, execution, LEASE)
        instance = ports.ecs.describe_instance(leased["poolInstanceId"])
        if instance is None or instance.get("Status") in ("Stopped", "Stopping"):
            raise ResourceFailed("pool host instance %s is %s" % (
                leased["poolInstanceId"], "gone" if instance is None else instance.get("Status")))
        if instance.get("Status") != "Running":
            return False, "pool host %s Running (now %s)" % (leased["poolInstanceId"], instance.get("Status")), {}, \
                TYPICAL_BOOT_S - seconds_since(ports, execution, LEASE)
        if not ports.ecs.cloud_assistant_online(leased["poolInstanceId"]):
            return False, "Cloud Assistant on pool host %s" % leased["poolInstanceId"], {}
        host = mark_host_ready(ports.store, host, leased["poolInstanceId"], 0,
                               instance_type_spec(ports, request.instanceType), settings_of(ports))
    else:
        check_host_alive(ports, host)
    instance_id = host.instance_id
    # One push per execution, then whenever less than its margin is left: the host lives while used.
    keep_alive(ports, execution, instance_id, leased.get("autoReleaseTime") or "")
    disk_id = once(ports, execution.execution_id, DISK_CREATED, lambda: {"diskId": ports.ecs.create_disk(
        host.zone, source["systemSnapshotId"], source["systemSize"], request.systemDiskCategory,
        "image-repair-%s" % source["imageId"], tags_for(execution),
        client_token(execution.execution_id, DISK_CREATED),
        performance_level=SMALLEST_LEVEL.get(request.systemDiskCategory))})["diskId"]
    disk = ports.ecs.describe_disk(disk_id)
    if disk is None:
        raise ResourceFailed("disk %s made from %s disappeared" % (disk_id, source["systemSnapshotId"]))
    # Described before attaching: an AttachDisk whose answer was lost has already moved the disk
    # (Attaching, then In_use, on our host), and a second call would be refused.
    on_host = disk.get("InstanceId") == instance_id and disk.get("Status") in ("Attaching", "In_use")
    if not on_host:
        if disk.get("Status") != "Available":
            return False, "disk %s Available (now %s)" % (disk_id, disk.get("Status")), {}, TYPICAL_DISK_S
        ports.ecs.attach_disk(instance_id, disk_id)
        disk = ports.ecs.describe_disk(disk_id) or disk
    if disk.get("Status") != "In_use" or disk.get("InstanceId") != instance_id:
        return False, "disk %s In_use on %s (now %s)" % (disk_id, instance_id, disk.get("Status")), {}, TYPICAL_DISK_S
    serial = disk.get("SerialNumber") or disk_id.split("-", 1)[-1]
    return True, "disk %s (serial %s) ready on pool host %s" % (disk_id, serial, instance_id), \
        {"diskId": disk_id, "serial": serial, "instanceId": instance_id, "pooled": True}


def check_host_alive(ports: Ports, host) -> None:
    """A ready host must still run and answer before a disk goes to it: a host lost (deleted,
    stopped) or whose Cloud Assistant went silent is drained, so no new lease lands on it and the
    idle release deletes it once its leases are gone (a deleted one is released at once), and this
    execution fails clean; the next one gets another host."""
    instance = ports.ecs.describe_instance(host.instance_id)
    status = None if instance is None else instance.get("Status")
    if status == "Running" and ports.ecs.cloud_assistant_online(host.instance_id):
        return
    why = "its instance is %s" % (status or "gone") if status != "Running" else "its Cloud Assistant is silent"
    try:
        drained = drain_host(ports.store, host, why)
        if instance is None:
            mark_host_released(ports.store, drained)
    except (NotInState, PoolHostChanged):
        pass                            # drained or replaced by someone else meanwhile
    raise ResourceFailed("pool host %s (%s) left the pool: %s" % (host.host_id, host.instance_id, why))


def snapshot_room(ports: Ports) -> None:
    """SnapshotRepairedDisk, pooled, before its CreateSnapshot: PoolBusy (retried, like a full pool)
    while ``max_snapshots_in_flight`` of the project's snapshots are progressing. A soft bound: two
    executions looking at once may both go (one over); it keeps a batch of a hundred from starting
    a hundred snapshots at once, not an exact count."""
    limit = settings_of(ports).max_snapshots_in_flight
    busy = ports.ecs.snapshots_in_progress(TAG_EXECUTION)
    if busy >= limit:
        raise PoolBusy("%d of the project's snapshots are progressing (the pool's bound is %d): "
                       "this one is taken when one is done" % (busy, limit))


def detach_from_pool(ports: Ports, execution, disk_id: str, instance_id: str):
    """ReleaseRepairHost, pooled: a poll check. DetachDisk (once), the slot given back (once),
    then the disk Available: the host takes the next image meanwhile."""
    if DETACHED not in ports.store.get_execution(execution.execution_id).steps:
        keep_slot(ports, execution)      # still ours up to the detach: nobody else's disk meets ours

        def detach() -> dict:
            # Described first: a DetachDisk whose answer was lost has the disk Detaching or
            # Available already, and a second call would be refused (IncorrectDiskStatus).
            disk = ports.ecs.describe_disk(disk_id)
            if disk is not None and disk.get("Status") == "In_use" and disk.get("InstanceId") == instance_id:
                ports.ecs.detach_disk(instance_id, disk_id)
            return {"instanceId": instance_id}
        once(ports, execution.execution_id, DETACHED, detach)
    release_held_slot(ports, execution)
    disk = ports.ecs.describe_disk(disk_id)
    if disk is None:
        raise ResourceFailed("disk %s disappeared after its detach from pool host %s" % (disk_id, instance_id))
    if disk.get("Status") != "Available":
        remaining = TYPICAL_DETACH_S - seconds_since(ports, execution, DETACHED)
        return False, "disk %s Available (now %s)" % (disk_id, disk.get("Status")), {}, remaining
    return True, "disk %s Available, off pool host %s" % (disk_id, instance_id), {"diskId": disk_id, "pooled": True}


def keep_slot(ports: Ports, execution) -> None:
    """Renew the execution's lease while it uses the slot (every pooled poll), whatever the host's
    state: a host drained meanwhile takes no new lease, but the repair on it runs to its end, and
    a live lease is what keeps a releaser off the host. A lease lost (expired and taken, or freed
    by the janitor) means the disk may meet another repair: fail, clean-up takes the disk off."""
    lease = lease_of(execution)
    if lease is None:
        return
    try:
        ports.store.renew_slot_lease(lease.host_id, lease.slot, lease.owner,
                                     ports.store.now_ms() + settings_of(ports).ms(settings_of(ports).lease_ttl_s))
    except SlotLeaseLost as error:
        raise ResourceFailed("the slot lease on pool host %s was lost: %s" % (lease.host_id, error))


def release_held_slot(ports: Ports, execution) -> None:
    """Give the execution's slot back, once (a lease already lost or released is fine)."""
    lease = lease_of(execution)
    if lease is None or SLOT_RELEASED in ports.store.get_execution(execution.execution_id).steps:
        return
    once(ports, execution.execution_id, SLOT_RELEASED, lambda: {"result": release_slot(ports.store, lease).value})


def repair_host(execution) -> Tuple[str, str]:
    """The instance the repair runs on and the AutoReleaseTime known for it: the execution's own
    host, or (pooled) the pool host WaitUntilReady attached the disk to, whose time is unknown
    here (keep_alive then pushes it once for this execution)."""
    ready = execution.steps.get("wait_until_ready")
    if ready is not None and (ready.result or {}).get("pooled"):
        return ready.result["instanceId"], ""
    launched = execution.steps[LEASE].result
    return launched["instanceId"], launched["autoReleaseTime"]


def placement(execution) -> Optional[dict]:
    """Where a pooled execution repairs (``status`` shows it): its pool host, slot and instance."""
    if not pooled(execution):
        return None
    leased = execution.steps.get(LEASE)
    ready = execution.steps.get("wait_until_ready")
    lease = (leased.result or {}).get("lease") if leased is not None else None
    return {"hostId": (leased.result or {}).get("hostId") if leased is not None else None,
            "slot": lease["slot"] if lease else None,
            "instanceId": ((ready.result or {}).get("instanceId") if ready is not None else None)
            or ((leased.result or {}).get("poolInstanceId") if leased is not None else None)}


def pooled(execution) -> bool:
    """Did the execution ask for the pool (its recorded request; a resumed one keeps its path)?"""
    return bool((execution.params or {}).get("pool"))


def give_back_everything(ports: Ports, execution) -> None:
    """Clean-up: every slot the execution still holds (also one whose lease step failed before
    recording it), and a seat it claimed but whose host it never launched (no instance: nothing
    to delete, the seat is free at once). A launched host stays: it is the pool's."""
    release_held_slot(ports, execution)
    owner = execution.execution_id
    for lease in ports.store.list_slot_leases():
        if lease.owner == owner:
            release_slot(ports.store, lease)
    for host in ports.store.list_pool_hosts():
        if host.launched_by == owner and host.state == HostState.LAUNCHING and host.instance_id is None:
            try:
                abandon_launch(ports.store, host)
            except PoolHostChanged:
                pass                    # the seat moved on already


def detach_for_clean_up(ports: Ports, execution, disk_id: str) -> bool:
    """Clean-up of a pooled execution's disk still on its host: DetachDisk; -> True when the disk
    is off the host (or gone) and can be deleted now. HostUnavailable never stops a clean-up."""
    disk = ports.ecs.describe_disk(disk_id)
    if disk is None or disk.get("Status") == "Available":
        return True
    if disk.get("Status") == "In_use" and disk.get("InstanceId"):
        try:
            ports.ecs.detach_disk(disk["InstanceId"], disk_id)
        except CloudError as error:
            if error.service_code not in ("IncorrectDiskStatus", "IncorrectInstanceStatus"):
                raise
    return False


__all__ = ["snapshot_room", "placement", "keep_slot", "give_back_everything", "repair_host", "lease_slot", "wait_for_pooled_disk", "detach_from_pool", "release_held_slot", "pooled",
           "detach_for_clean_up", "TAG_POOL_HOST"]

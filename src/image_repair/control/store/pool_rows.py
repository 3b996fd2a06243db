"""The pool's operations on the store (docs/pool.md), on every backend: the StateStore mixes
them in and they use only its conditional primitives (store/base.py), plus one of their own,
``_delete_if_expired``, that each backend implements in one statement.

Every write that settles a race is conditional, as the execution locks are:
* claiming a seat or a slot is ``_put_if_absent_or_expired``: two claimants never both win; a
  slot's owner re-taking its own slot refreshes it (as a lock's owner does);
* changing a host is a read and a write conditioned on the version read (``update_pool_host``);
* renewing a lease checks its owner and expiry, then writes conditioned on the version read;
* releasing deletes only the owner's row; tidying deletes a row only if it is still expired
  (a row re-taken meanwhile has a later expiry and is left alone).
"""
import uuid
from abc import abstractmethod
from typing import Callable, List, Optional

from .models import ConcurrentUpdate, NEVER_MS
from .pool_records import PoolHost, PoolHostChanged, ReleaseResult, SlotLease, SlotLeaseLost
from .rows import StoredRow, record_key

KIND_POOL_HOST = "phost"
KIND_SLOT_LEASE = "pslot"
MAX_POOL_ATTEMPTS = 64


def new_host_id() -> str:
    return "ph-" + uuid.uuid4().hex[:16]


class PoolRows:
    """The pool's records in the state store; StateStore mixes this in (see the module's doc)."""

    # What the mixing class provides (StateStore: now_ms; its backends: _get,
    # _put_if_absent_or_expired, _update_if, _delete, _scan) and, below, what each backend adds.
    @abstractmethod
    def _delete_if_expired(self, pk: str, now_ms: int) -> bool:
        """Delete the row only if it exists and ``expires_at_ms <= now_ms``. -> deleted."""

    # ---- keys and rows --------------------------------------------------------------------------
    @staticmethod
    def _host_pk(seat: int) -> str:
        return record_key(KIND_POOL_HOST, "seat-%d" % seat)

    @staticmethod
    def _slot_pk(host_id: str, slot: int) -> str:
        return record_key(KIND_SLOT_LEASE, "%s/%d" % (host_id, slot))

    def _host_row(self, host: PoolHost) -> StoredRow:
        return StoredRow(pk=self._host_pk(host.seat), kind=KIND_POOL_HOST, key="seat-%d" % host.seat,
                         status=host.state.value, owner=host.launched_by, expires_at_ms=host.expires_at_ms,
                         version=host.version, data=host.model_dump_json(), updated_at_ms=self.now_ms())

    def _lease_row(self, lease: SlotLease) -> StoredRow:
        return StoredRow(pk=self._slot_pk(lease.host_id, lease.slot), kind=KIND_SLOT_LEASE,
                         key="%s/%d" % (lease.host_id, lease.slot), status="LEASED", owner=lease.owner,
                         expires_at_ms=lease.expires_at_ms, version=lease.version, data=lease.model_dump_json(),
                         updated_at_ms=self.now_ms())

    @staticmethod
    def _host_from(row: StoredRow) -> PoolHost:
        return PoolHost.model_validate_json(row.data).model_copy(update={"version": row.version})

    @staticmethod
    def _lease_from(row: StoredRow) -> SlotLease:
        return SlotLease.model_validate_json(row.data).model_copy(update={"version": row.version})

    # ---- hosts ----------------------------------------------------------------------------------
    def list_pool_hosts(self) -> List[PoolHost]:
        return sorted((self._host_from(row) for row in self._scan(KIND_POOL_HOST)), key=lambda h: h.seat)

    def get_pool_host(self, seat: int) -> Optional[PoolHost]:
        row = self._get(self._host_pk(seat))
        return None if row is None else self._host_from(row)

    def claim_pool_seat(self, host: PoolHost) -> bool:
        """Put ``host`` in its seat if the seat is empty or its host's row expired (released, or a
        launch that never finished). -> False when a live host holds the seat."""
        now = self.now_ms()
        return self._put_if_absent_or_expired(self._host_row(host.model_copy(update={"version": 1})), now)

    def update_pool_host(self, seat: int, host_id: str, change: Callable[[PoolHost], PoolHost]) -> PoolHost:
        """Apply ``change`` (pure: it may run more than once) to host ``host_id`` in ``seat`` with
        optimistic concurrency. PoolHostChanged when the seat holds another host or none."""
        pk = self._host_pk(seat)
        for _ in range(MAX_POOL_ATTEMPTS):
            row = self._get(pk)
            current = None if row is None else self._host_from(row)
            if current is None or current.host_id != host_id:
                raise PoolHostChanged("seat %d no longer holds host %s" % (seat, host_id))
            changed = change(current.model_copy(deep=True))
            changed = changed.model_copy(update={"version": row.version + 1, "seat": seat, "host_id": host_id})
            if self._update_if(self._host_row(changed), row.version):
                return changed
        raise ConcurrentUpdate("pool seat %d: %d conflicting writes in a row" % (seat, MAX_POOL_ATTEMPTS))

    def delete_expired_pool_host(self, seat: int) -> bool:
        return self._delete_if_expired(self._host_pk(seat), self.now_ms())

    # ---- slot leases ----------------------------------------------------------------------------
    def list_slot_leases(self) -> List[SlotLease]:
        return sorted((self._lease_from(row) for row in self._scan(KIND_SLOT_LEASE)),
                      key=lambda lease: (lease.seat, lease.host_id, lease.slot))

    def get_slot_lease(self, host_id: str, slot: int) -> Optional[SlotLease]:
        row = self._get(self._slot_pk(host_id, slot))
        return None if row is None else self._lease_from(row)

    def take_slot(self, lease: SlotLease) -> bool:
        """Lease the slot if it is free, its lease expired, or it is already ``lease.owner``'s
        (refreshed). -> False when another owner holds it."""
        now = self.now_ms()
        return self._put_if_absent_or_expired(self._lease_row(lease.model_copy(update={"version": 1})), now,
                                              owner=lease.owner)

    def renew_slot_lease(self, host_id: str, slot: int, owner: str, expires_at_ms: int) -> SlotLease:
        """Move our live lease's expiry to ``expires_at_ms``. SlotLeaseLost when the lease is not
        ``owner``'s or has expired (an expired lease may already be someone else's: re-acquire)."""
        pk = self._slot_pk(host_id, slot)
        for _ in range(MAX_POOL_ATTEMPTS):
            row = self._get(pk)
            lease = None if row is None else self._lease_from(row)
            if lease is None or lease.owner != owner:
                raise SlotLeaseLost("slot %d of host %s is not leased to %s" % (slot, host_id, owner))
            if lease.is_expired(self.now_ms()):
                raise SlotLeaseLost("the lease of %s on slot %d of host %s expired at %d ms"
                                    % (owner, slot, host_id, lease.expires_at_ms))
            renewed = lease.model_copy(update={"expires_at_ms": min(expires_at_ms, NEVER_MS),
                                               "version": row.version + 1})
            if self._update_if(self._lease_row(renewed), row.version):
                return renewed
        raise ConcurrentUpdate("slot %d of host %s: %d conflicting writes in a row" % (slot, host_id, MAX_POOL_ATTEMPTS))

    def release_slot_lease(self, host_id: str, slot: int, owner: str) -> ReleaseResult:
        """Give the slot back, only if the lease is ``owner``'s (see ReleaseResult)."""
        pk = self._slot_pk(host_id, slot)
        row = self._get(pk)
        lease = None if row is None else self._lease_from(row)
        if lease is None or lease.owner != owner:
            return ReleaseResult.LOST
        expired = lease.is_expired(self.now_ms())
        if not self._delete(pk, owner=owner):
            return ReleaseResult.LOST
        return ReleaseResult.EXPIRED if expired else ReleaseResult.RELEASED

    def delete_expired_slot_lease(self, host_id: str, slot: int) -> bool:
        """Tidy an expired lease away; a lease re-taken meanwhile (a later expiry) stays."""
        return self._delete_if_expired(self._slot_pk(host_id, slot), self.now_ms())

    def delete_orphan_slot_lease(self, lease: SlotLease) -> bool:
        """Delete a lease on a host that no longer exists (its seat holds another host or none):
        nobody can take such a slot again, so only its owner's row is deleted."""
        return self._delete(self._slot_pk(lease.host_id, lease.slot), owner=lease.owner)

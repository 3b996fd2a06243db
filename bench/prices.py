"""The money row's price table (issue 12): what a repair host and its disks cost per repaired image,
ours against the seed, from documented pay-as-you-go prices only.

What is documented (checked 2026-12-03, sources below): a pay-as-you-go instance is billed per
second from its creation to its release, its instance type's unit price x the duration; a cloud
disk from its creation to its release, attached or not, capacity (GiB) x unit price x duration.
What is not: the unit prices themselves. The ECS pages send the reader to the Pricing tab of the
product page (a price calculator, not a document), and no page found by the search tools gives a
figure for ecs.g7.large or for cloud_essd in any region (the ESSD figures found are PolarDB's and
ApsaraDB ClickHouse's storage, other products). So every unit price below is None, and the money
row reports what holds whatever the prices are: the cost ratio ours / seed lies between the
smallest and the largest of the ratios of the billed quantities (instance-seconds, and GiB-seconds
of each disk category), since a cost is a positive-weighted sum of them. Never an invented price:
when a unit price is documented, put it here with its date and source and the row prints money.
"""
from typing import Dict, Optional

CHECKED = "2026-12-03"
INSTANCE_BILLING_SOURCE = "https://www.alibabacloud.com/help/en/ecs/instance-types"
DISK_BILLING_SOURCE = "https://www.alibabacloud.com/help/en/ecs/product-overview/block-storage-devices"
NOT_FOUND = ("no documented unit price found (%s): the ECS billing pages refer to the product page's "
             "Pricing tab" % CHECKED)

# USD per hour, pay-as-you-go, by instance type: {type: (price or None, source, date)}
INSTANCE_USD_PER_HOUR: Dict[str, tuple] = {
    "ecs.g7.large": (None, NOT_FOUND, CHECKED),
}
# USD per GiB-hour, pay-as-you-go, by disk category (the bench's disks are all cloud_essd)
DISK_USD_PER_GIB_HOUR: Dict[str, tuple] = {
    "cloud_essd": (None, NOT_FOUND, CHECKED),
}


def table() -> dict:
    """The table as the JSON records it."""
    return {"checked": CHECKED, "instance_billing_source": INSTANCE_BILLING_SOURCE,
            "disk_billing_source": DISK_BILLING_SOURCE,
            "instance_usd_per_hour": {k: {"price": p, "source": s, "date": d}
                                      for k, (p, s, d) in INSTANCE_USD_PER_HOUR.items()},
            "disk_usd_per_gib_hour": {k: {"price": p, "source": s, "date": d}
                                      for k, (p, s, d) in DISK_USD_PER_GIB_HOUR.items()}}


def documented() -> bool:
    """Every unit price in the table is documented (then the money row prints USD)."""
    return all(entry[0] is not None for table_ in (INSTANCE_USD_PER_HOUR, DISK_USD_PER_GIB_HOUR)
               for entry in table_.values())


def _price(prices: Dict[str, tuple], key: str) -> Optional[float]:
    return (prices.get(key) or (None,))[0]


def usd(instance_seconds: float, disk_gib_seconds: Dict[str, float], instance_type: str) -> Optional[float]:
    """The documented cost of these billed quantities, or None when a unit price is not documented."""
    instance_price = _price(INSTANCE_USD_PER_HOUR, instance_type)
    disk_prices = {category: _price(DISK_USD_PER_GIB_HOUR, category) for category in disk_gib_seconds}
    if instance_price is None or None in disk_prices.values():
        return None
    return (instance_seconds * instance_price
            + sum(gib_s * disk_prices[category] for category, gib_s in disk_gib_seconds.items())) / 3600.0


def money_per_image(ours: dict, seed: dict, instance_type: str) -> dict:
    """Ours against the seed: the money when every unit price is documented, and in any case the
    bounds of the cost ratio from the billed quantities (host instance-seconds from the call log,
    disk GiB-seconds from the metered clock)."""
    quantities = {"instance-seconds": (ours.get("host_seconds"), seed.get("host_seconds"))}
    ours_disks = (ours.get("metered") or {}).get("disk_gib_seconds", {})
    seed_disks = (seed.get("metered") or {}).get("disk_gib_seconds", {})
    for category in sorted(set(ours_disks) | set(seed_disks)):
        quantities["%s GiB-seconds" % category] = (ours_disks.get(category, 0.0), seed_disks.get(category, 0.0))
    ratios = {}
    for name, (mine, theirs) in quantities.items():
        if mine is None or not theirs:
            return {"quantities": quantities, "ratios": ratios, "ratio_lower": None, "ratio_upper": None,
                    "usd_ours": None, "usd_seed": None, "note": "%s: not measured for both flows" % name}
        ratios[name] = mine / theirs
    usd_ours = usd(ours["host_seconds"], ours_disks, instance_type)
    usd_seed = usd(seed["host_seconds"], seed_disks, instance_type)
    out = {"quantities": quantities, "ratios": ratios, "ratio_lower": min(ratios.values()),
           "ratio_upper": max(ratios.values()), "usd_ours": usd_ours, "usd_seed": usd_seed}
    if usd_ours is not None and usd_seed:
        out["ratio"] = out["ratio_lower"] = out["ratio_upper"] = usd_ours / usd_seed
    return out

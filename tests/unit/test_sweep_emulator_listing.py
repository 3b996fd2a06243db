"""The emulator's DescribeImages paging over a large account: the next pages of one listing reuse
its matches, and anything else recomputes them (same answers either way)."""
from image_repair.emulator.seed import build_backend, many_images, seed_with_images

QUERY = {"RegionId": "cn-hangzhou", "ImageOwnerAlias": "self", "OSType": "linux", "PageSize": "100"}


def page(backend, number, **extra):
    body = backend.handle("DescribeImages", dict(QUERY, PageNumber=str(number), **extra)).body
    return body["TotalCount"], [i["ImageId"] for i in body["Images"]["Image"]]


def test_pages_match_a_full_listing_and_changes_between_pages_are_seen():
    images = many_images(1000, seed=4)
    backend = build_backend(seed_with_images(images))
    linux = [i["id"] for i in images if i.get("os_type", "linux") == "linux"]
    listed = []
    for number in range(1, 11):
        total, ids = page(backend, number)
        assert total == len(linux)
        listed += ids
    assert listed == linux
    # another call in between: the listing is recomputed and sees the change
    total, first = page(backend, 1)
    backend.handle("ModifyImageAttribute", {"RegionId": "cn-hangzhou", "ImageId": first[0], "Status": "Deprecated"})
    total2, second = page(backend, 2)
    assert total2 == total - 1 and second[0] == linux[101]
    # a query that differs (another owner filter) is its own listing
    total3, _ = page(backend, 2, Architecture="arm64")
    assert total3 == 0


def test_a_listing_with_images_still_changing_is_not_reused():
    images = many_images(250, seed=1)
    linux = [i["id"] for i in images if i.get("os_type", "linux") == "linux"]
    backend = build_backend(seed_with_images(images), )
    creating = backend.images[linux[0]]
    creating.progress.schedule(backend.clock.now(), "image.create", [3600.0])   # Creating for an hour
    total, first = page(backend, 1)
    assert total == len(linux) - 1 and linux[0] not in first
    backend.clock.advance(3600)                    # it becomes Available between the two pages
    total, _ = page(backend, 2)
    assert total == len(linux)

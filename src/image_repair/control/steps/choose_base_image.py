"""Step 2: the repair host's image: ``baseImageId`` if given (its architecture must match the
source's), else the newest Alibaba Cloud Linux 3 image of the source's architecture."""
from ..models import FlowEvent, FlowState
from .common import ImageNotRepairable, Ports, StepError, done, load, once, result_of
from .check_source_image import STEP as CHECK

STEP = "choose_base_image"
ALINUX3_PREFIX = "aliyun_3_"


def newest_alinux3(images: list) -> dict:
    candidates = [i for i in images if str(i.get("ImageId", "")).startswith(ALINUX3_PREFIX)
                  or "Alibaba Cloud Linux 3" in str(i.get("OSName", ""))]
    if not candidates:
        return {}
    return max(candidates, key=lambda i: (str(i.get("CreationTime", "")), str(i.get("ImageId"))))


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    source = result_of(execution, CHECK)

    def work() -> dict:
        arch = source["architecture"]
        if request.baseImageId:
            image = ports.ecs.describe_image(request.baseImageId)
            if image is None:
                raise StepError("base image %s does not exist" % request.baseImageId, "BaseImageNotFound")
            if image.get("Architecture") != arch:
                raise ImageNotRepairable("base image %s is %s but the source image is %s"
                                         % (request.baseImageId, image.get("Architecture"), arch))
            if image.get("Status") != "Available" or str(image.get("OSType", "linux")).lower() != "linux":
                raise ImageNotRepairable("base image %s is not an Available Linux image" % request.baseImageId)
        else:
            image = newest_alinux3(ports.ecs.system_images(arch))
            if not image:
                raise StepError("no Alibaba Cloud Linux 3 image for %s in %s" % (arch, request.regionId),
                                "BaseImageNotFound")
        return {"imageId": image["ImageId"], "name": image.get("ImageName", ""), "architecture": arch}

    base = once(ports, execution.execution_id, STEP, work)
    ports.say("repair host image %s" % base["imageId"])
    return done(event)

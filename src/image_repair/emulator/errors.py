"""ECS API errors as the real service returns them: a code, a message and an HTTP status.

Codes, statuses and messages come from the ECS API reference's error tables and, for the API
gateway's own errors (signature, AccessKey, timestamp), from Alibaba Cloud's OpenAPI error pages
and the gateway's replies as SDKs parse them (messages verbatim, typos included; sources in
docs/cloud-contracts.md, "The emulator as the gateway"). Where no table was at hand the entry says
"unverified": it is the emulator's documented assumption, kept in this one table so a correction
is a one-line change.
"""
from typing import Optional


class ApiError(Exception):
    """An error response: ``{"RequestId", "HostId", "Code", "Message"}`` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status


# code -> (HTTP status, message)
CATALOG = {
    # Signature and routing (the API gateway). SignatureDoesNotMatch has two texts, one per
    # signature style: see rpc_signature_mismatch and v3_signature_mismatch below.
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "SignatureDoesNotMatch": (400, "Specified signature is not matched with our calculation."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidSignatureMethod": (400, "Specified signature method is not valid."),
    # The gateway's "Invalid{ParameterName}" pattern; which parameters it applies it to is unverified.
    "InvalidVersion": (400, "Specified parameter Version is not valid."),
    "InvalidSignatureVersion": (400, "Specified parameter SignatureVersion is not valid."),
    # Generic
    "MissingParameter": (400, "The input parameter \"%s\" that is mandatory for processing this request is not supplied."),
    "InvalidParameter": (400, "The specified parameter \"%s\" is not valid."),
    "DryRunOperation": (400, "Request validation has been passed with DryRun flag set."),
    "IdempotentParameterMismatch": (400, "Request uses a client token in a previous request but is not identical to that request."),
    "InvalidRegionId.NotFound": (404, "The RegionId provided does not exist in our records."),
    # Injected service-side faults
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "Throttling": (400, "Request was denied due to request throttling."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "InternalError": (500, "The request processing has failed due to some unknown error, exception or failure."),
    "QuotaExceed.ElasticQuota": (403, "The total number of specified instance types exceeds the quota."),
    "QuotaExceed.Snapshot": (403, "The snapshot quota exceeds."),
    "QuotaExceed.Image": (403, "The Image Quota exceeds."),
    # Resources
    "InvalidImageId.NotFound": (404, "The specified ImageId does not exist."),
    "InvalidInstanceId.NotFound": (404, "The specified InstanceId does not exist."),
    "InvalidDiskId.NotFound": (404, "The specified disk does not exist."),
    "InvalidSnapshotId.NotFound": (404, "The specified SnapshotId does not exist."),
    "InvalidSnapshotId.NotReady": (403, "The specified snapshot has not completed yet."),
    "InvalidVSwitchId.NotFound": (404, "Specified virtual switch does not exist."),
    "InvalidSecurityGroupId.NotFound": (404, "The SecurityGroupId provided does not exist in our records."),
    "InvalidInstanceType.ValueNotSupported": (400, "The specified InstanceType beyond the permitted range."),
    "InvalidDataDiskSnapshotId.NotFound": (404, "The specified parameter \"DataDisk.n.SnapshotId\" is not valid."),
    "InvalidDataDiskCategory.ValueNotSupported": (400, "The specified parameter \"DataDisk.n.Category\" is not valid."),
    "InvalidSystemDiskCategory.ValueNotSupported": (400, "The specified parameter \"SystemDisk.Category\" is not valid."),
    "InvalidSystemDiskSize.LessThanImageSize": (404, "The specified parameter SystemDisk.Size is less than the image size."),
    "InstanceDiskNumber.LimitExceed": (400, "The total number of specified disk in an instance exceeds."),
    "InvalidParameter.Mismatch": (400, "%s"),
    "InvalidZoneId.NotFound": (404, "The specified zoneId does not exist."),
    "InvalidResourceId.NotFound": (404, "The specified ResourceIds are not found in our records."),
    "InvalidResourceType.NotFound": (404, "The ResourceType provided does not exist in our records."),
    "IncorrectInstanceStatus": (403, "The current status of the resource does not support this operation."),
    "IncorrectInstanceStatus.Initializing": (403, "The specified instance status does not support this operation."),
    "IncorrectDiskStatus": (403, "The current disk status does not support this operation."),
    "IncorrectDiskStatus.CreatingSnapshot": (400, "A previous snapshot creation is in process."),
    # Disks outliving their instance (DetachDisk, ModifyDiskAttribute, DeleteDisk; API metadata)
    "InvalidDisk.AlreadyDetached": (404, "The specified disk has been detached."),
    "DependencyViolation": (403, "The specified disk has not been attached on the specified instance."),
    "DiskNotPortable": (403, "The specified disk is not a portable disk."),
    "DiskCreatingSnapshot": (403, "The operation is denied due to a snapshot of the specified disk is not completed yet."),
    "NoAttributeToModify": (400, "No attribute to be modified in this request."),
    "MissingParameter.DiskIdOrDiskIds": (400, "Specified parameter DiskId or DiskIds is missing."),
    "ParameterConflict.DiskIdAndDiskIds": (400, "Specified parameter DiskId and DiskIds conflict, only one can be chosen."),
    # Disks for a pool of repair hosts (CreateDisk, AttachDisk, DeleteDisk; API metadata)
    "ResourcesNotInSameZone": (403, "The specified instance and disk are not in the same zone."),
    "InstanceDiskLimitExceeded": (403, "The amount of the disk on instance in question reach its limits."),
    "InvalidDisk.InUse": (404, "The specified disk has been occupied."),
    "IncorrectDiskStatus.NeverAttached": (403, "The specified disk has never been attached to any instance."),
    "IncorrectDiskStatus.Initializing": (403, "The current disk status does not support this operation."),
    "InvalidDiskCategory.ValueNotSupported": (400, "The specified parameter \"DiskCategory\" is not valid."),
    "InvalidDiskSize.NotSupported": (400, "The specified parameter size is not valid."),
    "InvalidDiskName.Malformed": (400, "The specified disk name is wrongly formed."),
    "InvalidDescription.Malformed": (400, "The specified description is wrongly formed."),
    "InvalidPerformanceLevel.Malformed": (400, "The specified parameter PerformanceLevel is not valid."),
    "InvalidParam.ZoneIdAndInstanceId.Conflict": (403, "The specified parameter 'ZoneId' and 'InstanceId' are not blank at the same time."),
    "IncorrectImageStatus": (403, "The current status of the image does not support this operation."),  # unverified
    "InvalidImageName.Duplicated": (400, "The specified Image name has already bean used."),  # sic
    "InvalidPlatform.Malformed": (400, "The specified Platform is wrongly formed."),
    "InvalidArchitecture.Malformed": (400, "The specified Architecture is wrongly formed."),
    "SnapshotCreatedImage": (403, "The snapshot has been used to create user defined image(s)."),
    "SnapshotCreatedDisk": (403, "The snapshot has been used to create disk(s)."),
    "InvalidRetentionDays": (400, "The specified RetentionDays is not valid, it must be 1-65536."),  # unverified
    # Limits
    "InvalidClientToken.ValueNotSupported": (400, "clienttoken is not valid."),
    "InvalidTagCount": (400, "The specified tags are beyond the permitted range."),
    "InvalidTagKey.Malformed": (400, "The specified Tag.n.Key is not valid."),
    "InvalidAutoReleaseTime.Malformed": (400, "The specified parameter AutoReleaseTime is not valid."),
    # Cloud Assistant
    "InvalidInstance.NotFound": (404, "The specified instance does not exist."),
    "InvalidInstance.NotRunning": (403, "The specified instance is not running."),  # unverified
    "InvalidCmdId.NotFound": (404, "The specified command ID does not exist."),
    "InstanceIds.ExceedLimit": (403, "The number of instance IDs exceeds the upper limit."),
    "Parameter.Disabled": (400, "Parameters cannot be passed in when the command customization function is disabled."),
    "Parameter.MissingValue": (400, "The parameter value of this command is required."),
    "InvalidClientToken.Malformed": (400, "The specified parameter clientToken is not valid."),
    "InvalidInvokeId.NotFound": (404, "The specified invocation does not exist."),  # unverified
    "CmdContent.ExceedLimit": (403, "The maximum length of a command is exceeded."),
    "ParameterCount.ExceedLimit": (403, "The maximum number of parameters is exceeded."),
    "Parameter.NotMatched": (403, "The passed-in parameters do not match the parameters defined when you created the command."),
    "FileContent.ExceedLimit": (403, "The maximum size of the file content is exceeded."),  # unverified
    "InvalidTimeout": (400, "The specified Timeout is not valid."),  # unverified
}


def error(code: str, detail: Optional[str] = None) -> ApiError:
    """The catalogued error ``code``; ``detail`` fills a %s in its message or is appended."""
    status, message = CATALOG.get(code, (400, code))
    if "%s" in message:
        message = message % (detail or "")
    elif detail:
        message = "%s %s" % (message, detail)
    return ApiError(code, message, status)


def missing(name: str) -> ApiError:
    return error("MissingParameter", name)


# --- the API gateway's own errors -------------------------------------------------------------
# The gateway answers an RPC request whose signature fails with the string to sign it computed,
# after "server string to sign is:". aliyun-python-sdk-core splits that message on ":" and, when
# the server's string equals its own, reports InvalidAccessKeySecret (aliyunsdkcore/client.py,
# _get_server_exception); a message without the suffix makes it fail with an IndexError.
RPC_SIGNATURE_MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:%s"
# V3 (ACS3-HMAC-SHA256): the documented text, followed by the server's StringToSign and
# CanonicalRequest in brackets (that suffix is seen in replies, not documented: unverified).
V3_SIGNATURE_MISMATCH = ("Specified signature does not match our calculation. server StringToSign is [%s] "
                         "server CanonicalRequest is [%s]")


def rpc_signature_mismatch(string_to_sign: str) -> ApiError:
    return ApiError("SignatureDoesNotMatch", RPC_SIGNATURE_MISMATCH % string_to_sign, 400)


def v3_signature_mismatch(string_to_sign: str, canonical_request: str) -> ApiError:
    return ApiError("SignatureDoesNotMatch", V3_SIGNATURE_MISMATCH % (string_to_sign, canonical_request), 400)


def gateway_missing(name: str) -> ApiError:
    """A common (signature) parameter left out: the gateway's Missing{ParameterName} error."""
    return ApiError("Missing" + name, "%s is mandatory for this action." % name, 400)


def invalid(name: str, why: str = "") -> ApiError:
    err = error("InvalidParameter", name)
    if why:
        err.message = "%s %s" % (err.message, why)
    return err

"""The wire: V3 (ACS3-HMAC-SHA256) and RPC (HMAC-SHA1 v1) requests from the real
alibabacloud_ecs20140526 client through mock_ecs, signature checks, error codes, statuses and
texts, response envelopes; plus RPC requests (query and form) signed by the classic SDK
(aliyun-python-sdk-core's own signer, independent of the emulator's verifier) and its own
parsing of the gateway's signature error."""
import json
import time
from urllib.parse import urlencode

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.utils import parameter_helper
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from image_repair.emulator.wire import Gateway, HttpRequest
from image_repair.testing import ecs_client, mock_ecs

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"


@pytest.fixture
def ecs():
    with mock_ecs() as backend:
        yield backend


HOST = "ecs.cn-hangzhou.aliyuncs.com"
RPC_MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"
V3_MISMATCH = "Specified signature does not match our calculation."


def classic_signed(backend, params, method="POST", form=None, secret=None):
    """An RPC request signed by aliyun-python-sdk-core (signature v1), the way its AcsClient
    builds one: common parameters and the signature in the query, ``form`` in a form body.
    -> (HttpRequest, the SDK's string to sign)."""
    url, string_to_sign = rpc_signature_composer.get_signed_url(
        dict(params, Version="2014-05-26"), backend.access_key_id, secret or backend.access_key_secret,
        "JSON", method, dict(form or {}))
    headers = {"Host": HOST}
    body = b""
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form).encode()
    return HttpRequest(method, "https://%s%s" % (HOST, url), headers, body), string_to_sign


def answer(gateway, request):
    response = gateway.handle(request)
    return response.status, json.loads(response.body)


@pytest.mark.parametrize("rpc", [False, True], ids=["V3", "RPC"])
def test_real_sdk_both_styles_reach_the_backend(ecs, rpc):
    body = ecs_client(ecs, rpc=rpc).describe_images_with_options(
        m.DescribeImagesRequest(region_id=R, image_owner_alias="system", page_size=1), RT).body
    assert body.request_id and body.total_count == 2 and body.page_number == 1 and body.page_size == 1
    assert len(body.images.image) == 1
    assert ecs.calls[-1].style == ("RPC" if rpc else "V3")
    assert ecs.calls[-1].access_key_id == ecs.access_key_id


@pytest.mark.parametrize("rpc", [False, True], ids=["V3", "RPC"])
def test_wrong_secret_is_signature_does_not_match(ecs, rpc):
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config
    config = Config(access_key_id=ecs.access_key_id, access_key_secret="wrong", region_id=R,
                    endpoint="ecs.cn-hangzhou.aliyuncs.com")
    if rpc:
        config.signature_algorithm = "v2"
    with pytest.raises(ClientException) as err:
        Client(config).describe_images_with_options(m.DescribeImagesRequest(region_id=R), RT)
    assert (err.value.code, err.value.status_code) == ("SignatureDoesNotMatch", 400)
    message = err.value.data["Message"]
    if rpc:
        assert message.startswith(RPC_MISMATCH) and message[len(RPC_MISMATCH):].startswith("POST&%2F&AccessKeyId%3D")
    else:
        assert message.startswith(V3_MISMATCH + " server StringToSign is [ACS3-HMAC-SHA256\n")
        assert "server CanonicalRequest is [POST\n/\n" in message
    assert not any(c.action == "DescribeImages" and c.style != "rejected" for c in ecs.calls)


@pytest.mark.parametrize("rpc", [False, True], ids=["V3", "RPC"])
def test_unknown_access_key(ecs, rpc):
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config
    config = Config(access_key_id="LTAInobody", access_key_secret="x", region_id=R,
                    endpoint="ecs.cn-hangzhou.aliyuncs.com")
    if rpc:
        config.signature_algorithm = "v2"
    with pytest.raises(ClientException) as err:
        Client(config).describe_instances_with_options(m.DescribeInstancesRequest(region_id=R), RT)
    assert (err.value.code, err.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_unknown_action_is_404(ecs):
    with pytest.raises(ClientException) as err:
        ecs_client(ecs).describe_regions_with_options(m.DescribeRegionsRequest(), RT)
    assert (err.value.code, err.value.status_code) == ("InvalidAction.NotFound", 404)
    assert err.value.data["RequestId"] and err.value.data["HostId"]


def test_missing_or_malformed_authorization_is_incomplete_signature(ecs):
    gateway = Gateway(ecs)
    for auth in (None, "ACS3-HMAC-SHA256 garbage", "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=host,Signature=00" % ecs.access_key_id):
        headers = {"x-acs-action": "DescribeImages", "x-acs-version": "2014-05-26", "host": "ecs.cn-hangzhou.aliyuncs.com"}
        if auth:
            headers["Authorization"] = auth
        response = gateway.handle(HttpRequest("POST", "https://ecs.cn-hangzhou.aliyuncs.com/?RegionId=cn-hangzhou", headers))
        assert response.status == 400
        body = json.loads(response.body)
        assert (body["Code"], body["Message"]) == ("IncompleteSignature",
                                                   "The request signature does not conform to Aliyun standards.")


def test_rpc_signed_by_the_classic_sdk_query_and_form(ecs):
    gateway = Gateway(ecs)
    image = {"Action": "DescribeImages", "RegionId": R, "ImageId": "m-bp1emulatorbrokenimg01"}
    for method, params, form in (("GET", image, None), ("POST", image, None),
                                 ("POST", {"Action": "DescribeImages"}, {"RegionId": R, "ImageId": "m-bp1emulatorbrokenimg01"})):
        status, body = answer(gateway, classic_signed(ecs, params, method, form)[0])
        assert status == 200, body
        assert body["Images"]["Image"][0]["ImageId"] == "m-bp1emulatorbrokenimg01" and body["RequestId"]
    assert [c.style for c in ecs.calls] == ["RPC"] * 3


def test_rpc_signature_error_is_the_one_the_classic_sdk_parses(ecs):
    """The gateway's RPC SignatureDoesNotMatch text ends with its string to sign; the classic
    SDK splits it off and, when it equals its own, reports a wrong AccessKey secret."""
    gateway = Gateway(ecs)
    request, string_to_sign = classic_signed(ecs, {"Action": "DescribeImages", "RegionId": R}, secret="wrong")
    status, body = answer(gateway, request)
    assert (status, body["Code"], body["Message"]) == (400, "SignatureDoesNotMatch", RPC_MISMATCH + string_to_sign)
    parsed = AcsClient(ecs.access_key_id, "wrong", R)._get_server_exception(
        status, json.dumps(body).encode(), HOST, string_to_sign)
    assert isinstance(parsed, ServerException)
    assert (parsed.get_error_code(), parsed.get_http_status()) == ("InvalidAccessKeySecret", 400)
    assert parsed.get_request_id() == body["RequestId"]
    # Changed on the way (PageSize 1 -> 2): the strings differ and the SDK keeps the gateway's code.
    request, string_to_sign = classic_signed(ecs, {"Action": "DescribeImages", "RegionId": R, "PageSize": "1"})
    request.url = request.url.replace("PageSize=1", "PageSize=2")
    status, body = answer(gateway, request)
    assert body["Message"].startswith(RPC_MISMATCH) and "PageSize%3D2" in body["Message"]
    parsed = AcsClient(ecs.access_key_id, ecs.access_key_secret, R)._get_server_exception(
        status, json.dumps(body).encode(), HOST, string_to_sign)
    assert (parsed.get_error_code(), parsed.get_error_msg()) == ("SignatureDoesNotMatch", body["Message"])


def test_rpc_timestamps_nonces_and_unknown_actions(ecs, monkeypatch):
    gateway = Gateway(ecs)
    describe = {"Action": "DescribeImages", "RegionId": R}
    clock = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for stamp, expected in (("2020-01-01T00:00:00Z", (400, "InvalidTimeStamp.Expired")),
                            ("yesterday", (400, "InvalidTimeStamp.Format")),
                            (clock + ".973Z", (200, None))):  # milliseconds, as Node's pop-core sends
        monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: stamp)
        status, body = answer(gateway, classic_signed(ecs, describe)[0])
        assert (status, body.get("Code")) == expected, body
    monkeypatch.undo()
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: "same-nonce")
    first, again = (answer(gateway, classic_signed(ecs, describe)[0]) for _ in range(2))
    assert first[0] == 200 and (again[0], again[1]["Code"]) == (400, "SignatureNonceUsed")
    assert again[1]["Message"] == "Specified signature nonce was used already."
    monkeypatch.undo()
    status, body = answer(gateway, classic_signed(ecs, {"Action": "NoSuchAction", "RegionId": R})[0])
    assert (status, body["Code"]) == (404, "InvalidAction.NotFound")
    assert body["Message"] == "Specified api is not found, please check your url and method."


def test_rpc_missing_or_invalid_common_parameter(ecs):
    request = classic_signed(ecs, {"Action": "DescribeImages", "RegionId": R})[0]
    request.url = "&".join(part for part in request.url.split("&") if not part.startswith("SignatureNonce="))
    status, body = answer(Gateway(ecs), request)
    assert (status, body["Code"], body["Message"]) == (400, "MissingSignatureNonce",
                                                       "SignatureNonce is mandatory for this action.")
    request = classic_signed(ecs, {"Action": "DescribeImages", "RegionId": R})[0]
    request.url = request.url.replace("SignatureMethod=HMAC-SHA1", "SignatureMethod=MD5")
    status, body = answer(Gateway(ecs), request)
    assert (status, body["Code"], body["Message"]) == (400, "InvalidSignatureMethod",
                                                       "Specified signature method is not valid.")


def test_error_body_is_the_gateways(ecs):
    """RequestId, HostId (the endpoint called), Code, Message, Recommend, in that order."""
    request = classic_signed(ecs, {"Action": "DescribeImages", "RegionId": R}, secret="wrong")[0]
    request.headers["Host"] = "ecs-cn-hangzhou.aliyuncs.com"
    status, body = answer(Gateway(ecs), request)
    assert list(body) == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    assert body["HostId"] == "ecs-cn-hangzhou.aliyuncs.com"
    assert body["Recommend"] == ("https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch&product=Ecs&requestId=%s"
                                 % body["RequestId"])


def test_v3_tampered_query_is_rejected(ecs):
    captured = {}
    client = ecs_client(ecs)
    original = Gateway.handle

    def tamper(self, request):
        captured["url"] = request.url
        request.url = request.url.replace("PageSize=1", "PageSize=2")
        return original(self, request)
    Gateway.handle = tamper
    try:
        with pytest.raises(ClientException) as err:
            client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, page_size=1), RT)
    finally:
        Gateway.handle = original
    assert "PageSize=1" in captured["url"]
    assert err.value.code == "SignatureDoesNotMatch"


def test_next_token_pagination(ecs):
    client = ecs_client(ecs)
    launch = m.RunInstancesRequest(region_id=R, image_id="aliyun_3_x64_20G_alibase_20250629.vhd", amount=3,
                                   instance_type="ecs.g7.large", v_switch_id="vsw-bp1emulator00000000h",
                                   security_group_id="sg-bp1emulator0000000000")
    client.run_instances_with_options(launch, RT)
    seen, token = [], None
    while True:
        body = client.describe_instances_with_options(m.DescribeInstancesRequest(
            region_id=R, max_results=2, next_token=token), RT).body
        seen += [i.instance_id for i in body.instances.instance]
        token = body.next_token
        if not token:
            break
    assert len(seen) == 3 == len(set(seen)) and body.total_count == 3


def test_other_hosts_fail_loudly(ecs):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("https://oss-cn-hangzhou.aliyuncs.com/")


def test_decorator_form_passes_the_backend():
    @mock_ecs()
    def scenario(ecs_backend):
        ecs_client(ecs_backend).describe_images_with_options(m.DescribeImagesRequest(region_id=R), RT)
        return ecs_backend.call_counts()["DescribeImages"]
    assert scenario() == 1

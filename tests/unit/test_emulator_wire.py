"""The wire: V3 (ACS3-HMAC-SHA256) and RPC (HMAC-SHA1 v1) requests from the real
alibabacloud_ecs20140526 client through mock_ecs, signature checks, error codes and statuses,
response envelopes; plus hand-built RPC requests (query and form) like older clients send."""
import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote, urlencode

import pytest
import requests
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


def rpc_request(backend, params, method="POST", secret=None, in_body=False, timestamp=None, nonce=None):
    """Sign like aliyun-python-sdk-core / the aliyun CLI (signature v1)."""
    flat = dict(params, Format="JSON", Version="2014-05-26", AccessKeyId=backend.access_key_id,
                SignatureMethod="HMAC-SHA1", SignatureVersion="1.0", SignatureNonce=nonce or uuid.uuid4().hex,
                Timestamp=timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    canonical = "&".join("%s=%s" % (quote(k, safe="~"), quote(v, safe="~")) for k, v in sorted(flat.items()))
    to_sign = "%s&%%2F&%s" % (method, quote(canonical, safe="~"))
    key = ((secret or backend.access_key_secret) + "&").encode()
    flat["Signature"] = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()
    if in_body:
        return requests.post("https://ecs.cn-hangzhou.aliyuncs.com/", data=urlencode(flat),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    return requests.request(method, "https://ecs.cn-hangzhou.aliyuncs.com/?" + urlencode(flat))


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
        assert json.loads(response.body)["Code"] == "IncompleteSignature"


def test_rpc_query_and_form_body(ecs):
    for in_body in (False, True):
        response = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R, "ImageId": "m-bp1emulatorbrokenimg01"},
                               in_body=in_body)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["Images"]["Image"][0]["ImageId"] == "m-bp1emulatorbrokenimg01" and body["RequestId"]
    response = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R}, method="GET")
    assert response.status_code == 200


def test_rpc_tampering_expiry_and_replay(ecs):
    good = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R}, secret="bad")
    assert (good.status_code, good.json()["Code"]) == (400, "SignatureDoesNotMatch")
    old = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R}, timestamp="2020-01-01T00:00:00Z")
    assert (old.status_code, old.json()["Code"]) == (400, "InvalidTimeStamp.Expired")
    first = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R}, nonce="same-nonce")
    again = rpc_request(ecs, {"Action": "DescribeImages", "RegionId": R}, nonce="same-nonce")
    assert first.status_code == 200 and (again.status_code, again.json()["Code"]) == (400, "SignatureNonceUsed")
    unknown = rpc_request(ecs, {"Action": "NoSuchAction", "RegionId": R})
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAction.NotFound")


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

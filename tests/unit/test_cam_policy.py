"""The CAM policies grant every API action the provider calls for what the program deploys.

The actions come from the provider's source (``tests/data/provider_actions.json``, derived by
``tests.provider_actions`` from terraform-provider-tencentcloud v1.82.42), not from resource names:
a sub-account holding only the README's policy must get through its first ``pulumi up``, and the
preview key through ``pulumi preview --refresh``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import provider_actions
from tests.harness import ROOT, run_stack

TABLE = json.loads(provider_actions.TABLE.read_text())
TYPES: dict[str, dict] = TABLE["types"]
READ_ONLY_VERBS = ("Describe", "Inquiry", "Get", "List")
# Tag writes the provider makes only for a ``tags`` input (``if tags := helper.GetTags(d, "tags"); len(tags) > 0``
# in Create, ``if d.HasChange("tags")`` in Update: e.g. vpc/resource_tc_subnet.go 186-190 and 316-323,
# cvm/resource_tc_instance.go 2259-2266).  The program sets no tags (test below), and a deployer that may
# retag any resource could defeat tag-based CAM conditions, so the policy leaves them out.
ONLY_WITH_TAGS = frozenset({"tag:ModifyResourceTags"})


def readme_policy(readme: str) -> dict:
    text = (ROOT / readme).read_text()
    section = text[text.index('id="a-sub-account-key-cam-policy"') if "zh-CN" in readme
                   else text.index("### A sub-account key (CAM policy)"):]
    start = section.index("```json") + len("```json")
    return json.loads(section[start:section.index("```\n", start)])


def granted(policy: dict, action: str) -> bool:
    """Whether an allow statement names ``action``, exactly or by a ``*`` pattern (``cvm:*``, ``tag:Describe*``)."""
    patterns = [pattern for statement in policy["statement"] if statement["effect"] == "allow"
                for pattern in statement["action"]]
    return any(re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action) for pattern in patterns)


def calls(operations: tuple[str, ...] = provider_actions.OPERATIONS):
    """(token, operation, action, where) for every action the program's types may call."""
    for token in sorted(provider_actions.program_tokens()):
        for operation, actions in TYPES[token]["operations"].items():
            if operation in operations:
                for action, where in actions.items():
                    yield token, operation, action, where


def test_the_table_covers_every_provider_type_and_data_source_the_program_uses():
    used = provider_actions.program_tokens()
    assert {"tencentcloud:Instance/instance:Instance", "tencentcloud:Cbs/storage:Storage",
            "tencentcloud:Availability/getZonesByProduct:getZonesByProduct"} <= used
    missing = used - set(TYPES)
    assert not missing, f"{sorted(missing)}: regenerate {provider_actions.TABLE} (python -m tests.provider_actions)"


def test_the_table_shows_the_tag_reads_the_issue_found():
    """v1.82.42: these Reads call DescribeResourceTagsByResourceIds through TagService.DescribeResourceTags."""
    for terraform in ("instance", "cbs_storage", "cbs_snapshot", "key_pair", "subnet", "security_group",
                      "postgresql_instance"):
        entry = next(e for e in TYPES.values() if e["terraform"] == f"tencentcloud_{terraform}")
        where = entry["operations"]["Read"]["tag:DescribeResourceTagsByResourceIds"]
        assert where["at"].startswith("tencentcloud/services/tag/service_tencentcloud_tag.go:")
        assert "TagService.DescribeResourceTags" in where["via"]


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_deployer_policy_grants_every_action_the_provider_calls(readme):
    policy = readme_policy(readme)
    denied = [f"{action} ({token} {operation}: {where['at']}, via {where['via']})"
              for token, operation, action, where in calls()
              if action not in ONLY_WITH_TAGS and not granted(policy, action)]
    assert not denied, f"{readme}'s CAM policy denies:\n" + "\n".join(denied)


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_deployer_policy_leaves_tag_writes_out(readme):
    assert not any(granted(readme_policy(readme), action) for action in ONLY_WITH_TAGS)


def test_the_preview_key_may_make_every_read_and_nothing_else():
    policy = json.loads((ROOT / "docs" / "ci-preview-cam-policy.json").read_text())
    for statement in policy["statement"]:
        assert statement["effect"] == "allow"
        for action in statement["action"]:
            service, _, verb = action.partition(":")
            assert service and verb.startswith(READ_ONLY_VERBS), action
    denied = [f"{action} ({token} Read: {where['at']})" for token, _, action, where in calls(("Read",))
              if not granted(policy, action)]
    assert not denied, "docs/ci-preview-cam-policy.json denies:\n" + "\n".join(denied)


def test_the_program_sets_no_tags_so_the_tag_writes_are_never_made():
    runs = [run_stack("dev", {"alerts": {"camUserIds": [100012345678]}}),
            run_stack("prod", {"database": {"engine": "postgresql"}})]
    registered = {r.type for run in runs for r in run.resources}
    resources = {token for token, entry in TYPES.items() if entry["kind"] == "resource"}
    assert resources & provider_actions.program_tokens() <= registered, "these runs cover every type"
    tagged = [f"{r.type} {r.name}" for run in runs for r in run.resources if r.inputs.get("tags")]
    assert not tagged, f"tags set on {tagged}: grant {sorted(ONLY_WITH_TAGS)} in both READMEs"


def test_granted_reads_wildcards_as_the_cam_syntax_does():
    policy = {"statement": [{"effect": "allow", "action": ["cvm:*", "tag:Describe*", "ssl:ApplyCertificate"]},
                            {"effect": "deny", "action": ["vpc:*"]}]}
    assert granted(policy, "cvm:RunInstances") and granted(policy, "tag:DescribeResourceTagsByResourceIds")
    assert granted(policy, "ssl:ApplyCertificate")
    assert not granted(policy, "ssl:ApplyCertificates") and not granted(policy, "tag:ModifyResourceTags")
    assert not granted(policy, "vpc:CreateVpc") and not granted(policy, "cvms:RunInstances")


# --- the derivation itself, on a small provider tree written like v1.82.42's ------------------------------------

MODULE = "github.com/tencentcloudstack/terraform-provider-tencentcloud"
SDK = "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud"
FIXTURE = {
    "tencentcloud/provider.go": f'''package tencentcloud

import (
\t"{MODULE}/tencentcloud/services/cvm"
)

func Provider() *schema.Provider {{
\treturn &schema.Provider{{
\t\tDataSourcesMap: map[string]*schema.Resource{{
\t\t\t"tencentcloud_instance_types": cvm.DataSourceTencentCloudInstanceTypes(),
\t\t}},
\t\tResourcesMap: map[string]*schema.Resource{{
\t\t\t"tencentcloud_instance": cvm.ResourceTencentCloudInstance(),
\t\t}},
\t}}
}}
''',
    "tencentcloud/connectivity/client.go": f'''package connectivity

import (
\tcvmv20170312 "{SDK}/cvm/v20170312"
)

func (me *TencentCloudClient) UseCvmClient(iacExtInfo ...IacExtInfo) *cvmv20170312.Client {{
\treturn me.cvmConn
}}
''',
    "tencentcloud/services/cvm/resource_tc_instance.go": f'''package cvm

import (
\tsvctag "{MODULE}/tencentcloud/services/tag"
\tcvm "{SDK}/cvm/v20170312"
)

func ResourceTencentCloudInstance() *schema.Resource {{
\treturn &schema.Resource{{
\t\tCreate: resourceTencentCloudInstanceCreate,
\t\tRead:   resourceTencentCloudInstanceRead,
\t\tDelete: resourceTencentCloudInstanceDelete,
\t}}
}}

func resourceTencentCloudInstanceCreate(d *schema.ResourceData, meta interface{{}}) error {{
\trequest := cvm.NewRunInstancesRequest()
\t_ = request
\treturn resourceTencentCloudInstanceRead(d, meta)
}}

func resourceTencentCloudInstanceRead(d *schema.ResourceData, meta interface{{}}) error {{
\tvar (
\t\tcvmService = CvmService{{client: meta.(tccommon.ProviderMeta).GetAPIV3Conn()}}
\t)
\tinstance, err := cvmService.DescribeInstanceById(ctx, d.Id())
\ttagService := svctag.NewTagService(client)
\ttags, err := tagService.DescribeResourceTags(ctx, "cvm", "instance", client.Region, d.Id())
\treturn nil
}}

func resourceTencentCloudInstanceDelete(d *schema.ResourceData, meta interface{{}}) error {{
\treturn resource.Retry(tccommon.WriteRetryTimeout, terminate)
}}

func terminate() *resource.RetryError {{
\t_, err := meta.GetAPIV3Conn().UseCvmClient().TerminateInstancesWithContext(ctx, request)
\treturn nil
}}

func unused() {{
\trequest := cvm.NewResetInstanceRequest()
}}
''',
    "tencentcloud/services/cvm/data_source_tc_instance_types.go": f'''package cvm

import (
\tcvm "{SDK}/cvm/v20170312"
)

func DataSourceTencentCloudInstanceTypes() *schema.Resource {{
\treturn &schema.Resource{{
\t\tRead: dataSourceTencentCloudInstanceTypesRead,
\t}}
}}

func dataSourceTencentCloudInstanceTypesRead(d *schema.ResourceData, meta interface{{}}) error {{
\trequest := cvm.NewDescribeZoneInstanceConfigInfosRequest()
\treturn nil
}}
''',
    "tencentcloud/services/cvm/service_tencentcloud_cvm.go": f'''package cvm

import (
\tcvm "{SDK}/cvm/v20170312"
)

type CvmService struct {{
\tclient *connectivity.TencentCloudClient
}}

func (me *CvmService) DescribeInstanceById(ctx context.Context, instanceId string) (*cvm.Instance, error) {{
\trequest := cvm.NewDescribeInstancesRequest()
\treturn
}}
''',
    "tencentcloud/services/tag/service_tencentcloud_tag.go": f'''package tag

import (
\ttag "{SDK}/tag/v20180813"
)

func NewTagService(client *connectivity.TencentCloudClient) TagService {{
\treturn TagService{{client: client}}
}}

func (me *TagService) DescribeResourceTags(ctx context.Context, resourceId string) (map[string]string, error) {{
\trequest := tag.NewDescribeResourceTagsByResourceIdsRequest()
\treturn
}}
''',
    "tencentcloud/services/cvm/resource_tc_instance_test.go": f'''package cvm

import (
\tcvm "{SDK}/cvm/v20170312"
)

func resourceTencentCloudInstanceCreate() {{
\trequest := cvm.NewDeleteKeyPairsRequest()
}}
''',
}


def test_derive_follows_services_packages_function_values_and_client_calls(tmp_path):
    for path, text in FIXTURE.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    table = provider_actions.derive(tmp_path, {
        "tencentcloud:Instance/instance:Instance": ("resource", "tencentcloud_instance"),
        "tencentcloud:Instance/getTypes:getTypes": ("data source", "tencentcloud_instance_types")})
    instance = table["tencentcloud:Instance/instance:Instance"]["operations"]
    assert set(instance) == {"Create", "Read", "Delete"}
    assert set(instance["Read"]) == {"cvm:DescribeInstances", "tag:DescribeResourceTagsByResourceIds"}
    assert set(instance["Create"]) == {"cvm:RunInstances", "cvm:DescribeInstances",
                                       "tag:DescribeResourceTagsByResourceIds"}
    assert set(instance["Delete"]) == {"cvm:TerminateInstances"}
    assert instance["Read"]["tag:DescribeResourceTagsByResourceIds"] == {
        "at": "tencentcloud/services/tag/service_tencentcloud_tag.go:12",
        "via": "resourceTencentCloudInstanceRead -> TagService.DescribeResourceTags"}
    types = table["tencentcloud:Instance/getTypes:getTypes"]
    assert types["kind"] == "data source"
    assert set(types["operations"]["Read"]) == {"cvm:DescribeZoneInstanceConfigInfos"}


@pytest.mark.parametrize(("kind", "terraform", "token"), [
    ("resource", "tencentcloud_vpc", "tencentcloud:Vpc/instance:Instance"),
    ("resource", "tencentcloud_cbs_storage_attachment", "tencentcloud:Cbs/storageAttachment:StorageAttachment"),
    ("resource", "tencentcloud_postgresql_instance_ssl_config",
     "tencentcloud:Postgresql/instanceSslConfig:InstanceSslConfig"),
    ("data source", "tencentcloud_availability_zones_by_product",
     "tencentcloud:Availability/getZonesByProduct:getZonesByProduct"),
    ("data source", "tencentcloud_image", "tencentcloud:Image/getInstance:getInstance"),
])
def test_pulumi_token_names_types_as_the_bridge_does(kind, terraform, token):
    assert provider_actions.pulumi_token(kind, terraform) == token


# Regenerating the table needs a provider checkout, which CI has not (no network): run
# `python -m tests.provider_actions --provider <git dir> --provider-ref v1.82.42` and commit its output.


def test_the_table_is_committed_where_the_module_writes_it():
    assert provider_actions.TABLE == Path(ROOT / "tests" / "data" / "provider_actions.json")
    assert TABLE["provider"].endswith("v1.82.42")

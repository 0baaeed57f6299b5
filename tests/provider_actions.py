"""Which Tencent Cloud API actions the provider calls, per Pulumi type and operation, derived from its source.

The deployer's CAM policy (README: A sub-account key) and the preview key's
(``docs/ci-preview-cam-policy.json``) must grant what the provider calls, which
is not what the resource names suggest: in terraform-provider-tencentcloud
v1.82.42 the Read of ``tencentcloud_instance`` calls ``tag:DescribeResourceTagsByResourceIds``
(``tencentcloud/services/cvm/resource_tc_instance.go`` 1262-1264 ->
``tencentcloud/services/tag/service_tencentcloud_tag.go`` 66-83), and is denied without it.

``tests/data/provider_actions.json`` is the table this module derives; regenerate it from checkouts
(a work tree, or a git directory with a ref) with::

    .venv/bin/python -m tests.provider_actions --provider PATH --provider-ref v1.82.42 \\
        > tests/data/provider_actions.json

where PATH is tencentcloudstack/terraform-provider-tencentcloud, the version tencentcloud-iac-pulumi 0.2.3 wraps
(tencentcloudstack/pulumi-tencentcloud v0.2.3 ``provider/go.mod``).  The Pulumi tokens are the program's
(``program_tokens``), each mapped to its Terraform type as the bridge names them (``pulumi_token``).

How: ``tencentcloud/provider.go`` maps each Terraform type to a constructor (``cvm.ResourceTencentCloudInstance()``),
whose ``schema.Resource`` names the Create/Read/Update/Delete functions (a data source: Read).  From each of
those the call graph is followed through the provider's own packages: functions of the same package, functions
of an imported provider package (``svctag.NewTagService``), and methods of variables whose type the function
declares (``cvmService := CvmService{...}``, ``tagService := svctag.NewTagService(...)``, the receiver ``me``).
An action is every SDK request constructor on the way (``request := tag.NewDescribeResourceTagsByResourceIdsRequest()``,
the product from the import path ``tencentcloud-sdk-go/tencentcloud/tag/v20180813``) and every call through a
client accessor (``UseTagClient().DescribeResourceTagsByResourceIds(``, the product from
``tencentcloud/connectivity/client.go``).  Branches are not evaluated: an operation's set is what it may call,
the set a policy has to grant.  The CAM service of an action is the SDK product (``cvm``, ``postgres``, ``tag``).
``CustomizeDiff`` of the types the program uses calls no API (checked by hand: instance, dnspod_record).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "data" / "provider_actions.json"
OPERATIONS = ("Create", "Read", "Update", "Delete")
SDK_PREFIXES = ("github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/",
                "github.com/tencentcloud/tencentcloud-sdk-go-intl-en/tencentcloud/")
PROVIDER_MODULE = "github.com/tencentcloudstack/terraform-provider-tencentcloud/"

_FUNC = re.compile(r"^func (?:\((\w+) \*?(\w+)\) )?(\w+)\((.*)$", re.M)
_IMPORT_BLOCK = re.compile(r"^import \((.*?)^\)", re.M | re.S)
_IMPORT_ONE = re.compile(r'^import (?:(\w+) )?"([^"]+)"', re.M)
_IMPORT_LINE = re.compile(r'^\s*(?:(\w+|_|\.)\s+)?"([^"]+)"', re.M)
# Any mention of a package function: a call, or a function value handed on (``resource.Retry(t, retryFunc)``).
_NAME_LOCAL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b")
_CALL_QUALIFIED = re.compile(r"(?<![\w.])(\w+)\.(\w+)\(")
_REQUEST = re.compile(r"(?<![\w.])(\w+)\.New(\w+)Request\(\)")
_CLIENT_CALL = re.compile(r"\.(Use\w+Client)\([^()]*\)\.(\w+)\(")
_VAR_LITERAL = re.compile(r"(?<![\w.])(\w+)\s*:?=\s*&?(?:(\w+)\.)?([A-Z]\w*)\{")
_VAR_CALL = re.compile(r"(?<![\w.])(\w+)\s*:?=\s*(?:(\w+)\.)?(New\w*)\(")
_VAR_DECLARED = re.compile(r"(?:^\s*var\s+|^\s+)(\w+)\s+\*?(?:(\w+)\.)?([A-Z]\w*)\s*$", re.M)
_PARAM = re.compile(r"(\w+) \*?(?:(\w+)\.)?([A-Z]\w*)")
_RETURNS = re.compile(r"\)\s*\*?(\w+)\s*\{\s*$")
_CRUD = re.compile(r"^\s*(Create|Read|Update|Delete)(?:Context)?:\s*(?:(\w+)\.)?(\w+),", re.M)


@dataclass
class Func:
    package: str
    receiver: str | None
    name: str
    path: str
    line: int
    signature: str
    params: str
    body: str
    imports: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.receiver}.{self.name}" if self.receiver else self.name


@dataclass
class Source:
    """The provider's Go functions, by package directory."""

    functions: dict[tuple[str, str], Func] = field(default_factory=dict)
    methods: dict[tuple[str, str, str], Func] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    """``UseTagClient`` -> ``tag``: the product of each client accessor (connectivity/client.go)."""


def _imports(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    block = _IMPORT_BLOCK.search(text)
    pairs = _IMPORT_LINE.findall(block.group(1)) if block else []
    pairs += _IMPORT_ONE.findall(text)
    for alias, path in pairs:
        found[alias or path.rstrip("/").rsplit("/", 1)[-1]] = path
    return found


def sdk_product(import_path: str) -> str | None:
    """``.../tencentcloud-sdk-go/tencentcloud/postgres/v20170312`` -> ``postgres``."""
    for prefix in SDK_PREFIXES:
        if import_path.startswith(prefix):
            return import_path[len(prefix):].split("/")[0]
    return None


def load(tree: Path) -> Source:
    """Every non-test ``.go`` file below ``tree/tencentcloud``."""
    source = Source()
    for path in sorted((tree / "tencentcloud").rglob("*.go")):
        if path.name.endswith("_test.go"):
            continue
        text = path.read_text(errors="replace")
        relative = path.relative_to(tree).as_posix()
        package = path.parent.relative_to(tree).as_posix()
        imports = _imports(text)
        starts = list(_FUNC.finditer(text))
        for match in starts:
            end = text.find("\n}\n", match.start())
            body = text[match.start(): len(text) if end < 0 else end + 2]
            _, receiver, name, params = match.groups()
            func = Func(package, receiver, name, relative, text.count("\n", 0, match.start()) + 1,
                        match.group(0), params, body, imports)
            if receiver:
                source.methods[(package, receiver, name)] = func
            else:
                source.functions[(package, name)] = func
        if relative == "tencentcloud/connectivity/client.go":
            for match in re.finditer(r"^func \(me \*TencentCloudClient\) (Use\w+Client)\([^)]*\) \*(\w+)\.Client",
                                     text, re.M):
                product = sdk_product(imports.get(match.group(2), ""))
                if product:
                    source.clients[match.group(1)] = product
    return source


def _provider_package(func: Func, alias: str | None) -> str | None:
    """The package directory ``alias`` names in ``func``'s file (none: its own package); None outside the provider."""
    if not alias:
        return func.package
    path = func.imports.get(alias, "")
    return path[len(PROVIDER_MODULE):] if path.startswith(PROVIDER_MODULE) else None


def _variable_types(source: Source, func: Func) -> dict[str, set[tuple[str, str]]]:
    """Variable -> the (package, type) values it is declared or assigned with in ``func``."""
    types: dict[str, set[tuple[str, str]]] = {}

    def note(var: str, alias: str | None, type_name: str) -> None:
        package = _provider_package(func, alias)
        if package is not None:
            types.setdefault(var, set()).add((package, type_name))

    if func.receiver:
        receiver_var = re.match(r"^func \((\w+) ", func.signature)
        if receiver_var:
            note(receiver_var.group(1), None, func.receiver)
    for var, alias, type_name in _PARAM.findall(func.params):
        note(var, alias, type_name)
    for var, alias, type_name in _VAR_LITERAL.findall(func.body) + _VAR_DECLARED.findall(func.body):
        note(var, alias, type_name)
    for var, alias, constructor in _VAR_CALL.findall(func.body):
        package = _provider_package(func, alias)
        made = source.functions.get((package, constructor)) if package else None
        returned = _RETURNS.search(made.signature) if made else None
        if made and returned:
            types.setdefault(var, set()).add((made.package, returned.group(1)))
    return types


def callees(source: Source, func: Func) -> list[Func]:
    """The provider functions and methods ``func`` may call."""
    found: dict[str, Func] = {}
    for name in _NAME_LOCAL.findall(func.body):
        callee = source.functions.get((func.package, name))
        if callee is not None:
            found[f"{callee.path}:{callee.line}"] = callee
    variables = _variable_types(source, func)
    for head, name in _CALL_QUALIFIED.findall(func.body):
        candidates = []
        package = _provider_package(func, head) if head in func.imports else None
        if package is not None:
            candidates.append(source.functions.get((package, name)))
        for package_, type_name in variables.get(head, ()):
            candidates.append(source.methods.get((package_, type_name, name)))
        for callee in candidates:
            if callee is not None:
                found[f"{callee.path}:{callee.line}"] = callee
    found.pop(f"{func.path}:{func.line}", None)
    return list(found.values())


def direct_actions(source: Source, func: Func) -> dict[str, int]:
    """``service:Action`` -> line, for each request ``func`` builds or client call it makes."""
    actions: dict[str, int] = {}
    for match in _REQUEST.finditer(func.body):
        product = sdk_product(func.imports.get(match.group(1), ""))
        if product:
            actions.setdefault(f"{product}:{match.group(2)}", func.line + func.body.count("\n", 0, match.start()))
    for match in _CLIENT_CALL.finditer(func.body):
        product = source.clients.get(match.group(1))
        if product:  # the SDK's ``XxxWithContext`` sends the action ``Xxx``
            action = match.group(2).removesuffix("WithContext")
            actions.setdefault(f"{product}:{action}", func.line + func.body.count("\n", 0, match.start()))
    return actions


def actions_of(source: Source, start: Func) -> dict[str, dict[str, object]]:
    """Every action reachable from ``start``, each with where its request is built and one shortest call chain."""
    result: dict[str, dict[str, object]] = {}
    queue: deque[tuple[Func, list[str]]] = deque([(start, [start.label])])
    seen = {f"{start.path}:{start.line}"}
    while queue:
        func, chain = queue.popleft()
        for action, line in sorted(direct_actions(source, func).items()):
            result.setdefault(action, {"at": f"{func.path}:{line}", "via": " -> ".join(chain)})
        for callee in callees(source, func):
            key = f"{callee.path}:{callee.line}"
            if key not in seen:
                seen.add(key)
                queue.append((callee, [*chain, callee.label]))
    return dict(sorted(result.items()))


def registered_types(tree: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(``resource``/``data source``, Terraform type) -> (package, constructor), from tencentcloud/provider.go."""
    text = (tree / "tencentcloud" / "provider.go").read_text()
    imports = _imports(text)
    data_at, resources_at = text.index("DataSourcesMap:"), text.index("ResourcesMap:")
    resources_end = data_at if data_at > resources_at else len(text)
    found = {}
    for match in re.finditer(r'^\s*"(tencentcloud_\w+)":\s*(\w+)\.(\w+)\(\),', text, re.M):
        kind = "resource" if resources_at < match.start() < resources_end else "data source"
        path = imports.get(match.group(2), "")
        if path.startswith(PROVIDER_MODULE):
            found[(kind, match.group(1))] = (path[len(PROVIDER_MODULE):], match.group(3))
    return found


def derive(tree: Path, tokens: dict[str, tuple[str, str]]) -> dict[str, object]:
    """The table for ``tokens`` (Pulumi token -> (kind, Terraform type)) from the provider tree at ``tree``."""
    source = load(tree)
    registered = registered_types(tree)
    table: dict[str, object] = {}
    for token, (kind, terraform) in sorted(tokens.items()):
        package, constructor_name = registered[(kind, terraform)]
        constructor = source.functions[(package, constructor_name)]
        operations = {}
        for operation, alias, name in _CRUD.findall(constructor.body):
            target_package = _provider_package(constructor, alias or None)
            operations[operation] = actions_of(source, source.functions[(target_package, name)])
        table[token] = {"terraform": terraform, "kind": kind,
                        "source": f"{constructor.path}:{constructor.line}",
                        "operations": {op: operations[op] for op in OPERATIONS if op in operations}}
    return table


# --- the Pulumi side: which tokens the program uses, and their Terraform types ---------------------------------

def program_tokens(root: Path = ROOT) -> set[str]:
    """Every provider type and data source the program's components use (``cbs.Storage(``, ``ssl.get_certificates``)."""
    import pulumi

    tokens = set()
    for path in sorted((root / "components").rglob("*.py")):
        text = path.read_text()
        modules = {name.strip() for match in re.finditer(r"^from tencentcloud_iac_pulumi import (.+)$", text, re.M)
                   for name in match.group(1).split(",")}
        for module_name in modules:
            module = __import__(f"tencentcloud_iac_pulumi.{module_name}", fromlist=["_"])
            for attribute in set(re.findall(rf"(?<![\w.]){module_name}\.(\w+)\(", text)):
                member = getattr(module, attribute, None)  # None: a name in prose, not code
                if inspect.isclass(member) and issubclass(member, pulumi.CustomResource):
                    tokens.add(member.pulumi_type)
                elif inspect.isfunction(member):
                    tokens.update(re.findall(r"invoke(?:_output)?\('(tencentcloud:[^']+)'", inspect.getsource(member)))
    return tokens


def pulumi_token(kind: str, terraform: str) -> str:
    """The bridge's token for a Terraform type: tencentcloudstack/pulumi-tencentcloud v0.2.3
    ``provider/info/transform/transform.go`` (ResolveModuleEntity, ToPascal) and ``provider/info/info.go``
    (GetResourceInfo/GetDataSourceInfo: ``tfbridge.MakeResource``/``MakeDataSource``, ``module/lowerFirst(name):name``).
    """
    parts = terraform.split("_")[1:]
    if len(parts) <= 1:
        module, entity = parts[0], "instance"
    elif terraform.startswith(("tencentcloud_api_gateway", "tencentcloud_private_dns")):
        module, entity = "_".join(parts[:2]), "_".join(parts[2:])
    else:
        module, entity = parts[0], "_".join(parts[1:])

    def pascal(text: str) -> str:
        return "".join(word[:1].upper() + word[1:] for word in text.split("_"))

    name = pascal(entity) if kind == "resource" else "get" + pascal(entity)
    return f"tencentcloud:{pascal(module)}/{name[:1].lower()}{name[1:]}:{name}"


def _checkout(path: Path, ref: str | None, subtree: str, into: Path) -> Path:
    """``path`` itself (a work tree), or ``subtree`` of ``ref`` extracted from the git directory ``path``."""
    if ref is None:
        return path
    archive = subprocess.run(["git", f"--git-dir={path}", "archive", ref, subtree], check=True,
                             capture_output=True).stdout
    target = into / path.name
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as handle:
        handle.write(archive)
        handle.seek(0)
        with tarfile.open(fileobj=handle) as tar:
            tar.extractall(target, filter="data")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", type=Path, required=True, help="terraform-provider-tencentcloud checkout")
    parser.add_argument("--provider-ref", help="a git ref, when --provider is a git directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        tree = _checkout(args.provider, args.provider_ref, "tencentcloud", Path(scratch) / "provider")
        mapping: dict[str, list[tuple[str, str]]] = {}
        for kind, terraform in registered_types(tree):
            mapping.setdefault(pulumi_token(kind, terraform), []).append((kind, terraform))
        used = program_tokens()
        unmapped = {token: mapping.get(token, []) for token in used if len(mapping.get(token, [])) != 1}
        if unmapped:
            print(f"no single Terraform type for {unmapped} in tencentcloud/provider.go", file=sys.stderr)
            return 1
        table = {
            "provider": f"tencentcloudstack/terraform-provider-tencentcloud {args.provider_ref or args.provider}",
            "regenerate": "python -m tests.provider_actions (see its docstring)",
            "types": derive(tree, {token: mapping[token][0] for token in used}),
        }
    json.dump(table, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

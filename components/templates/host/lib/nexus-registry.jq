# nexus-registry.jq: every jq program of the host scripts, in one library
# (components/templates/host/lib/nexus-registry.jq, shipped verbatim beside the scripts as
# /opt/nexus-registry/lib/nexus-registry.jq).  The scripts call these by name through jqr
# (jq -L <lib dir> 'include "nexus-registry"; ...'); jq 1.5+ (CentOS 7's EPEL has 1.6).

# --- comparing what we want with what Nexus returned ---------------------------------------------

# subset($want; $have): every key we set has the same value in what Nexus returned; keys only Nexus
# knows (defaults, read-only fields) are ignored; arrays must match exactly.
def subset($want; $have):
  if ($want | type) == "object" then
    ($have | type) == "object" and all($want | to_entries[]; . as $e | subset($e.value; $have[$e.key]))
  else $want == $have end;

# Role and user lists compare as sets: Nexus does not keep their order.
def norm: with_entries(if (.value | type) == "array" then .value |= sort else . end);

# The tests reconcile (nexus-bootstrap.sh) runs on what Nexus returned, with $want the desired object.
def same_subset($want): subset($want; .);
def same_normalised($want): subset($want | norm; norm);
# SSRF protection: the lists compare as sets (Nexus need not keep our order; it may answer null for none).
def ssrf_norm: {enabled, allowedDomains: ((.allowedDomains // []) | sort), allowedIPs: ((.allowedIPs // []) | sort)};
def same_ssrf($want): ssrf_norm == ($want | ssrf_norm);
# Realms: ours appended to whatever is active; the PUT replaces the whole list, so all of it is sent.
def realms_with($want): . + ($want - .);
def same_realms($want): realms_with($want) == .;
# The anonymous user holds exactly the anonymous roles ($want is the role list).
def same_roles($want): (.roles | sort) == ($want | sort);
def same_soft_quota($want): .softQuota == $want.softQuota;

# --- request bodies built from what Nexus returned ($want: the desired object) -----------------------

# The disclaimer must be sent back exactly as Nexus gave it.
def eula_accepting($want): {accepted: true, disclaimer: .disclaimer};
# PUT takes the whole user: what Nexus has, with our fields over it.
def user_updated($want): . + $want;
def roles_replaced($want): .roles = $want;
# The PUT replaces the blob store's settings: keep its path, set (or drop) the quota.
def blob_store_quota($want): {path: .path} + (if $want.softQuota then {softQuota: $want.softQuota} else {} end);

# A secret read from a root-only file: its trailing newlines are not part of it.
def chomp: sub("\n+$"; "");
def with_hub_token($token): .httpClient.authentication.password = ($token | chomp);
def with_password($password): . + {password: ($password | chomp)};

# --- reading Nexus's answers ------------------------------------------------------------------------

# " (error ids: a, b)" material: the ids of a Nexus validation error ([{"id": ...}]), never its messages.
def error_ids: [(if type == "array" then .[] else . end) | objects | .id | strings] | .[:5] | join(", ");
# The first element of a list that satisfies a condition, or nothing.
def repository_kind($name): .[] | select(.name == $name) | "\(.format)/\(.type)";
def user_named($id): map(select(.userId == $id)) | first // empty;
def has_name($name): any(.[]; .name == $name);
def named($name): .[] | select(.name == $name);
def id_and_json($key): .[] | "\(.[$key]) \(tojson)";
# Users this program created (lastName $marker) that the settings no longer name.
def stale_users($marker; $wanted): .[] | select(.lastName == $marker and (.userId as $id | $wanted | index($id) | not)) | .userId;
def names_starting($prefix): .[].name | select(startswith($prefix));

# --- tasks (GET /v1/tasks pages TaskXO in .items) ----------------------------------------------------

def task_summary: [.type, "\(.frequency.cronExpression), UTC\(.frequency.timeZoneOffset)", .name] | @tsv;
def task_id_of_type($type): [.items[] | select(.type == $type)][0].id // "";
def task_id($name; $type): [.items[] | select(.name == $name and .type == $type)][0].id // "";
def task_by_id($id): .items[] | select(.id == $id);
# Compares only what this Nexus reports (older releases leave out properties and schedule).
def task_matches($want):
  . as $have
  | ($have.enabled == true)
    and ($have.cronExpression == null or $have.cronExpression == $want.frequency.cronExpression)
    and ($have.properties == null or all(($want.properties // {}) | to_entries[]; $have.properties[.key] == .value));
def tasks_starting($prefix): .items[] | select(.name | startswith($prefix)) | "\(.id) \(.name)";
# The database backup task: the one of ours by name, else any of its type.
def backup_task_id($name): ([.items[] | select(.name == $name)] + .items)[0].id // "";

# --- nexus-status.sh ----------------------------------------------------------------------------------

# A daily usage metric (/v1/usage-history, oldest to newest): the last value, or the busiest of the last two.
def usage_values: [.data[]?.value | select(. != null)];
def usage_last: usage_values | last // empty;
def usage_busiest: usage_values | .[-2:] | max // empty;
def quota_limit: if .softQuota.type == "spaceUsedQuota" then .softQuota.limit else "" end;
# 3.x answers a map of check name to result; newer releases wrap it in .results.
def health_checks: if (.results | type) == "object" then .results else . end;
def unhealthy: [to_entries[] | select(.value.healthy != true) | .key] | join(", ");

# --- nexus-prepare-host.sh ----------------------------------------------------------------------------

# daemon.json with $add as the first registry mirror and $drop (the one we set last time) gone;
# other keys and the owner's own mirrors are kept.
def with_mirror($add; $drop):
  ((.["registry-mirrors"] // []) - [$drop, $add]) as $others
  | .["registry-mirrors"] = ((if $add == "" then [] else [$add] end) + $others)
  | if .["registry-mirrors"] == [] then del(.["registry-mirrors"]) else . end;

# --- nexus-retention.sh -------------------------------------------------------------------------------

# A component's manifest asset (a tag of an image: v2/<image>/manifests/<tag>).
def retention_manifest: [.assets[]? | select(.path | test("/manifests/"))][0];
# Every tag (never a manifest pushed by digest: a platform manifest of an index) with its digest and
# time, grouped per image, newest first, each with its rank in its image.
def retention_tags:
  [ .[] | select((.version // "") | startswith("sha256:") | not)
    | retention_manifest as $m
    | select($m != null)
    | { id, name, tag: .version, digest: ("sha256:" + ($m.checksum.sha256 // "")),
        contentType: ($m.contentType // ""), path: $m.path,
        time: ($m.blobCreated // $m.lastModified // "") } ]
  | group_by(.name)
  | map(sort_by(.time, .tag) | reverse | to_entries | map(.value + { rank: .key }))
  | flatten;
def retention_age_days($now):
  (($now - ((.time | sub("\\.[0-9]+"; "") | sub("(Z|[+-]00:?00)$"; "Z") | fromdateiso8601?) // $now)) / 86400);
def retention_protected($cfg): . as $tag | any($cfg.protect[]; . as $re | $tag.tag | test($re));
# Why each tag is kept under nexus.retention ($cfg), or null: it is a candidate for deletion.
def retention_decide($now; $cfg):
  map(. + { reason:
    (if .rank < $cfg.keepLast then "newest \($cfg.keepLast)"
     elif retention_protected($cfg) then "protected"
     elif ($cfg.olderThanDays != null) and (retention_age_days($now) < $cfg.olderThanDays)
     then "younger than \($cfg.olderThanDays) days"
     else null end) });

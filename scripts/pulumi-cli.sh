# shellcheck shell=bash
# Sourced by scripts/up.sh and scripts/install-pulumi-cli.sh (the workflows): the pinned Pulumi CLI,
# installed into ~/.pulumi/bin from its release tarball only when the tarball's SHA-256 is the one
# committed in scripts/pulumi-cli.sha256.  No installer is piped into sh, and pulumi/actions, which
# downloads without any check, finds this CLI on PATH at its version and downloads nothing.
#
# PULUMI_VERSION is also the version of the locked Python SDK (requirements.txt) and of the
# workflows' pulumi-version; tests/unit/test_ci_supply_chain.py fails until all agree.

PULUMI_VERSION=3.260.0
PULUMI_CLI_DIR="$HOME/.pulumi/bin"
PULUMI_CLI_CHECKSUMS=scripts/pulumi-cli.sha256

pulumi_cli_platform() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
  echo "$os-$arch"
}

pulumi_cli_tarball() { echo "pulumi-v$PULUMI_VERSION-$(pulumi_cli_platform).tar.gz"; }
pulumi_cli_url() { echo "https://get.pulumi.com/releases/sdk/$(pulumi_cli_tarball)"; }
pulumi_cli_expected() { awk -v f="$(pulumi_cli_tarball)" '$2 == f { print $1 }' "$PULUMI_CLI_CHECKSUMS"; }

# file_sha256 FILE: its SHA-256 in hex (sha256sum on Linux, shasum on macOS).
file_sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

# install_pulumi_cli: the pinned CLI into PULUMI_CLI_DIR, from PULUMI_CLI_TARBALL when set (a
# tarball downloaded elsewhere, checked the same way), else from get.pulumi.com.  On failure it
# sets PULUMI_CLI_PROBLEM to why, installs nothing and returns 1: what to do next is the caller's.
install_pulumi_cli() {
  local tarball url expected actual work
  tarball=$(pulumi_cli_tarball)
  url=$(pulumi_cli_url)
  expected=$(pulumi_cli_expected)
  PULUMI_CLI_PROBLEM=""
  if [[ -z $expected ]]; then
    PULUMI_CLI_PROBLEM="$PULUMI_CLI_CHECKSUMS has no checksum for $tarball"
    return 1
  fi
  work=$(mktemp -d)
  if [[ -n ${PULUMI_CLI_TARBALL:-} ]]; then
    echo "==> installing the Pulumi CLI from $PULUMI_CLI_TARBALL into ~/.pulumi/bin"
    cp "$PULUMI_CLI_TARBALL" "$work/$tarball" || PULUMI_CLI_PROBLEM="cannot read $PULUMI_CLI_TARBALL"
  else
    echo "==> downloading Pulumi $PULUMI_VERSION ($tarball) into ~/.pulumi/bin"
    curl -fsSL --retry 2 -o "$work/$tarball" "$url" || PULUMI_CLI_PROBLEM="downloading $url failed (see the curl error above)"
  fi
  if [[ -z $PULUMI_CLI_PROBLEM ]]; then
    actual=$(file_sha256 "$work/$tarball")
    if [[ $actual != "$expected" ]]; then
      PULUMI_CLI_PROBLEM="$tarball has SHA-256 $actual, expected $expected ($PULUMI_CLI_CHECKSUMS)"
    elif ! tar -xzf "$work/$tarball" -C "$work"; then
      PULUMI_CLI_PROBLEM="$tarball is not a readable tar.gz"
    elif [[ ! -x $work/pulumi/pulumi ]]; then
      PULUMI_CLI_PROBLEM="$tarball holds no pulumi/pulumi"
    else
      mkdir -p "$PULUMI_CLI_DIR"
      cp -f "$work"/pulumi/* "$PULUMI_CLI_DIR/"
    fi
  fi
  rm -rf "$work"
  [[ -z $PULUMI_CLI_PROBLEM ]]
}

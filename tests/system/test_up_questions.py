"""``make up``'s questions enforce what they say: each answer is held to the stack check's own rules and asked
again; a new stack's passphrase is asked twice.  Driven like tests/support/up_scripts.py, with its stand-ins."""

from __future__ import annotations

from tests.support.up_scripts import CI_PASSWORD, OPENSSH_KEY, PASSPHRASE, PASSWORD, run


def test_a_short_admin_password_is_refused_and_asked_again(repo):
    result = run(repo, "up.sh", "dev", "up", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\nTiny-pw1\nadmin1234567\n{PASSWORD}\n"
                                                   f"{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "nexus-registry:adminPassword: must be at least 12 characters; try again" in result.stdout
    assert "nexus-registry:adminPassword: is a well-known default password; choose your own; try again" \
        in result.stdout
    assert result.stdout.count("the Nexus admin password is not set") == 3
    # only the answer that passed reached pulumi
    assert result.values == [f"adminPassword {PASSWORD} passphrase={PASSPHRASE}",
                             f"userPasswords.ci {CI_PASSWORD} passphrase={PASSPHRASE}"]
    assert "Tiny-pw1" not in result.stdout + result.stderr  # a refused answer is not echoed either
    assert "admin1234567" not in result.stdout + result.stderr


def test_a_user_password_is_held_to_the_users_rules_too(repo):
    # The same as the admin password is refused by the cross-check pulumi up would apply.
    result = run(repo, "up.sh", "dev", "up", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n{PASSWORD}\nshort-pw\n"
                                                   f"{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "nexus-registry:userPasswords.ci: must be at least 12 characters; try again" in result.stdout
    assert result.values[-1] == f"userPasswords.ci {CI_PASSWORD} passphrase={PASSPHRASE}"


def test_three_refused_answers_stop_make_up_before_pulumi_up(repo):
    result = run(repo, "up.sh", "dev", "up", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\nshort\nshorter\nshortest\n")
    assert result.returncode == 2
    assert "make up: nexus-registry:adminPassword: must be at least 12 characters" in result.stderr
    assert result.values == [] and not any(call.startswith("up") for call in result.calls)


def test_a_new_stacks_passphrase_is_asked_twice_and_a_mismatch_asks_again(repo):
    result = run(repo, "up.sh", "dev", "up",
                 stdin=f"{PASSPHRASE}\ntypo-{PASSPHRASE}\n{PASSPHRASE}\n{PASSPHRASE}\n{PASSWORD}\n{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "the two passphrases differ; choose one again" in result.stdout
    assert result.stdout.count("the same passphrase again") == 2
    assert result.values[0] == f"adminPassword {PASSWORD} passphrase={PASSPHRASE}"


def test_an_existing_stacks_passphrase_is_asked_once(repo):
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text("encryptionsalt: v1:c2FsdA==:v1:aXY=:Y2lwaGVy\n" + stack_file.read_text())
    result = run(repo, "up.sh", "dev", "up", stdin=f"{PASSPHRASE}\n{PASSWORD}\n{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "the same passphrase again" not in result.stdout
    assert result.values[0] == f"adminPassword {PASSWORD} passphrase={PASSPHRASE}"


def test_a_file_that_is_not_a_key_is_refused_and_the_path_asked_again(repo, tmp_path):
    public = tmp_path / "id_ed25519.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMN+7+CmE5Z9m+P1xhMhAjSpeJ3biMmsB515DBVF3aaR ops\n")
    key = tmp_path / "id_ed25519"
    key.write_text(OPENSSH_KEY)
    result = run(repo, "up.sh", "lab", "preview",
                 stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n{PASSWORD}\n{tmp_path}/missing\n{public}\n{key}\n{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert f"cannot read the SSH private key '{tmp_path}/missing'; try again" in result.stdout
    assert "nexus-registry:sshPrivateKey: is not a PEM or OpenSSH private key" in result.stdout
    assert result.values[1] == f"sshPrivateKey {OPENSSH_KEY[:30]} passphrase={PASSPHRASE}"


def test_a_bad_key_file_from_the_environment_stops_at_once(repo, tmp_path):
    public = tmp_path / "id_ed25519.pub"
    public.write_text("ssh-ed25519 AAAA ops\n")
    result = run(repo, "up.sh", "lab", "preview", stdin=f"{PASSWORD}\n",
                 env_extra={"SSH_KEY_FILE": str(public), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 2
    assert "make preview: nexus-registry:sshPrivateKey: is not a PEM or OpenSSH private key" in result.stderr
    assert not any(value.startswith("sshPrivateKey") for value in result.values)

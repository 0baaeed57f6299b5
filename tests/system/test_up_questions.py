"""``make up``'s questions enforce what they say: each answer is held to the stack check's own rules and asked
again; a new stack's passphrase is asked twice.  Driven like tests/support/up_scripts.py, with its stand-ins."""

from __future__ import annotations

from tests.support.up_scripts import CI_PASSWORD, NEW_STACK, OPENSSH_KEY, PASSPHRASE, PASSWORD, run


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


def test_the_questions_and_their_refusals_speak_chinese_in_a_chinese_locale(repo):
    result = run(repo, "up.sh", "dev", "up", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\nTiny-pw1\n{PASSWORD}\n{CI_PASSWORD}\n",
                 env_extra={"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert result.returncode == 0, result.stderr
    assert "==> 加密栈 dev 的密钥所用的口令（新栈：请自己设定一个；也可以 export PULUMI_CONFIG_PASSPHRASE）: " \
        in result.stdout
    assert "==> 请再输入一次同样的口令" in result.stdout
    assert "==> Nexus 管理员密码尚未设置：请输入一个（至少 12 个字符）: " in result.stdout
    assert "==> nexus-registry:adminPassword: 至少需要 12 个字符；请重新输入" in result.stdout
    assert "==> Nexus 用户 ci 的密码尚未设置" in result.stdout
    assert result.values == [f"adminPassword {PASSWORD} passphrase={PASSPHRASE}",
                             f"userPasswords.ci {CI_PASSWORD} passphrase={PASSPHRASE}"]


def test_the_cli_install_advice_speaks_chinese_in_a_chinese_locale(repo):
    result = run(repo, "up.sh", "dev", "up", with_pulumi=False, stdin=NEW_STACK,
                 env_extra={"LC_ALL": "zh_CN.UTF-8"})
    assert result.returncode == 1
    advice = result.stderr[result.stderr.index("make up: 无法安装 Pulumi CLI"):]
    assert "请手动安装，然后重新运行 make up STACK=dev：" in advice
    assert "curl -fLO https://get.pulumi.com/releases/sdk/pulumi-v" in advice
    assert "PULUMI_CLI_TARBALL=/path/to/" in advice and "tar -xzf" in advice

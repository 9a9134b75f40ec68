"""``tinxa`` run as a subprocess against the running system (real broker,
store and service processes)."""
import json

import pytest

pytestmark = pytest.mark.e2e

NEW_COMMUNE = {"id": "gia-hoa", "name": "Gia Hòa", "province": "Ninh Bình",
               "villages": [{"id": "thon-a", "name": "Thôn A"}, {"id": "thon-b", "name": "Thôn B"}],
               "agencies": [{"id": "vp", "name": "Văn phòng UBND"}]}


def test_commune_create_from_a_file_and_from_flags_then_list_and_show(tinxa, tmp_path):
    path = tmp_path / "commune.json"
    path.write_text(json.dumps({"commune": NEW_COMMUNE}, ensure_ascii=False), encoding="utf-8")
    created = tinxa("commune", "create", "--file", path)
    assert created.returncode == 0, created.stderr
    assert "created commune gia-hoa «Gia Hòa»: 2 villages, 1 agencies" in created.stdout
    again = tinxa("commune", "create", "--id", "gia-hoa", "--name", "Gia Hòa", "--province", "Ninh Bình",
                  "--village", "thon-a:Thôn A",
                  "--agency", "vp:Văn phòng UBND")
    assert again.returncode == 0, again.stderr
    assert "updated commune gia-hoa" in again.stdout and "1 villages" in again.stdout

    listed = tinxa("commune", "list")
    assert listed.returncode == 0, listed.stderr
    ids = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert "gia-hoa" in ids and "xuan-hung" in ids

    shown = tinxa("commune", "show", "gia-hoa")
    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert profile["villages"] == [{"id": "thon-a", "name": "Thôn A"}]
    assert [a["id"] for a in profile["agencies"]] == ["vp"]


def test_user_create_prints_the_password_once_and_the_account_logs_in(tinxa, stack, rpc):
    rpc.gateway.ensure_commune(NEW_COMMUNE)
    created = tinxa("user", "create", "--commune", "gia-hoa", "--username", "bientap.giahoa",
                    "--name", "Nguyễn Thị Hoa", "--role", "editor", "--role", "approver")
    assert created.returncode == 0, created.stderr
    password = next(line.split(": ", 1)[1] for line in created.stdout.splitlines() if line.startswith("password: "))
    assert len(password) >= 20

    import requests

    login = requests.post(f"{stack.base_url}/api/auth/login",
                          json={"username": "bientap.giahoa", "password": password}, timeout=30)
    assert login.status_code == 200, login.text

    again = tinxa("user", "create", "--commune", "gia-hoa", "--username", "bientap.giahoa",
                  "--name", "Nguyễn Thị Hoa", "--role", "editor")
    assert again.returncode == 0 and "password unchanged" in again.stdout and "password:" not in again.stdout

    listed = tinxa("user", "list", "--commune", "gia-hoa")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["bientap.giahoa\tNguyễn Thị Hoa\teditor\t"]
    assert "argon2" not in listed.stdout


def test_devices_import_previews_shows_row_errors_and_registers_on_confirm(tinxa, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("device_id,name,kind,village\nLOA-X1,Loa chợ,loudspeaker,thon-1\n,Loa không mã,loudspeaker,thon-1\n",
                   encoding="utf-8")
    preview = tinxa("devices", "import", "--commune", "xuan-hung", bad, "--confirm")
    assert preview.returncode == 1
    assert "line 3 -: device_id" in preview.stdout, preview.stdout
    assert "1 rows valid, 1 with problems" in preview.stdout
    assert "LOA-X1" not in tinxa("devices", "list", "--commune", "xuan-hung").stdout

    good = tmp_path / "good.csv"
    good.write_text("device_id,name,kind,village\nLOA-X1,Loa chợ,loudspeaker,thon-1\n", encoding="utf-8")
    only_preview = tinxa("devices", "import", "--commune", "xuan-hung", good)
    assert only_preview.returncode == 0 and "run again with --confirm" in only_preview.stdout
    assert "LOA-X1" not in tinxa("devices", "list", "--commune", "xuan-hung").stdout
    confirmed = tinxa("devices", "import", "--commune", "xuan-hung", good, "--confirm")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert "registered 1 devices in xuan-hung" in confirmed.stdout
    listed = tinxa("devices", "list", "--commune", "xuan-hung")
    assert any(line.startswith("LOA-X1\tloudspeaker\tthon-1") for line in listed.stdout.splitlines()), listed.stdout


def test_deadletters_list_on_an_empty_queue(tinxa):
    listed = tinxa("deadletters", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no dead letters"
    replayed = tinxa("deadletters", "replay")
    assert replayed.returncode == 0 and replayed.stdout.strip() == "replayed 0"


@pytest.mark.parametrize("args, message", [
    (["user", "create", "--commune", "gia-hoa"], "the following arguments are required: --username, --name, --role"),
    (["commune", "create", "--id", "x", "--name", "X", "--province", "P", "--village", "thon-1"], "write it as id:Tên"),
    (["commune", "create", "--id", "x", "--name", "X"], "needs --file, or --id, --name and --province"),
    (["devices", "import", "--commune", "xuan-hung", "/nonexistent.csv"], "/nonexistent.csv: no such file"),
    (["backup", "frobnicate"], "invalid choice: 'frobnicate'"),
    (["plugin", "grant", "--commune", "xuan-hung", "--name", "bad name"], "not a routing-key word"),
])
def test_bad_arguments_exit_2_with_one_readable_line(tinxa, args, message):
    result = tinxa(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_caller_errors_from_a_service_exit_1_without_a_traceback(tinxa):
    result = tinxa("commune", "show", "no-such-commune")
    assert result.returncode == 1
    assert result.stderr.startswith("tinxa: error: NotFound") and "Traceback" not in result.stderr
    unreachable = tinxa("commune", "list", "--amqp", "amqp://guest:guest@127.0.0.1:1/")
    assert unreachable.returncode == 1 and "did not answer" in unreachable.stderr
    store = tinxa("export", "--commune", "xuan-hung", "--out", "/tmp/x.gz", "--mongo", "mongodb://127.0.0.1:1/")
    assert store.returncode == 1 and store.stderr.startswith("tinxa: error: database:")


def test_plugin_grant_list_and_revoke(tinxa, stack):
    granted = tinxa("plugin", "grant", "--commune", "xuan-hung", "--name", "zalo-bridge")
    assert granted.returncode == 0, granted.stderr
    fields = dict(line.split(":", 1) for line in granted.stdout.splitlines()[:5])
    assert fields["login"].strip() == "plugin.xuan-hung.zalo-bridge" and fields["vhost"].strip() == stack.vhost
    password = fields["password"].strip()
    assert len(password) >= 32

    from kombu import Connection

    with Connection(f"amqp://plugin.xuan-hung.zalo-bridge:{password}@127.0.0.1:5672/{stack.vhost}") as connection:
        connection.ensure_connection(max_retries=2)

    assert "plugin.xuan-hung.zalo-bridge\txuan-hung\tzalo-bridge" in tinxa("plugin", "list").stdout
    assert tinxa("plugin", "list", "--commune", "gia-hoa").stdout.strip() == "no plug-ins"
    revoked = tinxa("plugin", "revoke", "--commune", "xuan-hung", "--name", "zalo-bridge")
    assert revoked.returncode == 0, revoked.stderr
    assert "zalo-bridge" not in tinxa("plugin", "list").stdout


def test_rabbitmq_definitions_are_written_as_json(tinxa, tmp_path, stack):
    out = tmp_path / "definitions.json"
    result = tinxa("backup", "rabbitmq-definitions", "--out", out)
    assert result.returncode == 0, result.stderr
    definitions = json.loads(out.read_text(encoding="utf-8"))
    assert {"vhosts", "queues", "exchanges"} <= set(definitions)
    assert stack.vhost in {v["name"] for v in definitions["vhosts"]}
    assert any(q["vhost"] == stack.vhost and q["name"].startswith("rpc-gateway") for q in definitions["queues"])
    assert oct(out.stat().st_mode & 0o777) == "0o600"

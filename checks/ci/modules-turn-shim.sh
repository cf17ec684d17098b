#!/usr/bin/env bash
# The TURN credentials shim (modules/turn-shim.py) against Signal-Server's expectations
# (CloudflareTurnCredentialsManager at the pinned tag): a real shim process, real HTTP requests,
# credentials checked against coturn's TURN REST API rule (base64 HMAC-SHA1 of "<expiry>:<user>"),
# then used for a real relay allocation on a real coturn (Debian package `coturn`) configured
# like modules/coturn.nix.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 - "$PWD/modules/turn-shim.py" <<'PY'
import base64, hashlib, hmac, json, os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request, urllib.error

shim = sys.argv[1]
token = "test-api-token-" + os.urandom(8).hex()
secret = os.urandom(16).hex()
work = tempfile.mkdtemp(prefix="turn-shim-")
bundle = os.path.join(work, "secrets-bundle.yml")
with open(bundle, "w") as f:
    f.write(f"linkDevice.secret: AAAA\nturn.cloudflare.apiToken: '{token}'\nother: x\n")
secret_file = os.path.join(work, "static-auth-secret")
with open(secret_file, "w") as f:
    f.write(secret + "\n")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

urls = ["turn:turn.example.test:3478", "turns:turn.example.test:5349?transport=tcp"]
args = [sys.executable, shim, "--listen-port", str(port), "--secrets-bundle", bundle,
        "--static-auth-secret-file", secret_file]
for url in urls:
    args += ["--url", url]
proc = subprocess.Popen(args, stderr=subprocess.PIPE)
failures = []

def check(name, condition, detail=""):
    print(("  PASS  " if condition else "  FAIL  ") + name + (f": {detail}" if detail and not condition else ""))
    if not condition:
        failures.append(name)

def post(auth, body, path="/v1/turn/keys/sweetlies/credentials/generate"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("turn-shim did not start: " + proc.stderr.read().decode())

    before = int(time.time())
    status, body = post(f"Bearer {token}", json.dumps({"ttl": 86400}).encode())
    check("the server's request gets 201 Created", status == 201, f"{status} {body}")
    ice = body.get("iceServers", {})
    username = ice.get("username", "")
    expiry = int(username.split(":")[0]) if ":" in username else 0
    check("username is <expiry>:sweetlies with expiry = now + ttl", before + 86400 <= expiry <= int(time.time()) + 86400, username)
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    check("credential is coturn's base64(HMAC-SHA1(static-auth-secret, username))", ice.get("credential") == expected)
    check("urls are the configured TURN URLs", ice.get("urls") == urls, ice.get("urls"))

    status, body = post(f"Bearer {token}", json.dumps({"ttl": 10 ** 9}).encode())
    expiry = int(body["iceServers"]["username"].split(":")[0])
    check("ttl is capped at 48 hours", expiry <= int(time.time()) + 48 * 3600, body)

    status, _ = post("Bearer wrong", json.dumps({"ttl": 60}).encode())
    check("a wrong token gets 401", status == 401, status)
    status, _ = post("", json.dumps({"ttl": 60}).encode())
    check("a missing token gets 401", status == 401, status)
    status, _ = post(f"Bearer {token}", b"not json")
    check("a malformed body gets 400", status == 400, status)
    status, _ = post(f"Bearer {token}", json.dumps({"ttl": 60}).encode(), path="/other")
    check("another path gets 404", status == 404, status)

    # coturn as modules/coturn.nix runs it (use-auth-secret, the same static-auth-secret file),
    # on loopback only, with loopback peers allowed for this test.
    if shutil.which("turnserver") is None or shutil.which("turnutils_uclient") is None:
        sys.exit("coturn is not installed: run checks/install-deps.sh (Debian package coturn)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        turn_port = s.getsockname()[1]
    turn = subprocess.Popen(["turnserver", "-n", "--use-auth-secret", f"--static-auth-secret={secret}",
                             "--realm=turn.example.test", "--listening-ip=127.0.0.1", f"--listening-port={turn_port}",
                             "--relay-ip=127.0.0.1", "--min-port=49152", "--max-port=49999", "--no-cli", "--no-tls",
                             "--no-dtls", "--fingerprint", "--allow-loopback-peers", "--log-file=stdout"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status, body = post(f"Bearer {token}", json.dumps({"ttl": 3600}).encode())
        ice = body["iceServers"]
        def allocate(password):
            return subprocess.run(["turnutils_uclient", "-u", ice["username"], "-w", password, "-n", "2", "-m", "1",
                                   "-l", "100", "-y", "-e", "127.0.0.1", "-p", str(turn_port), "127.0.0.1"],
                                  capture_output=True, text=True, timeout=60)
        for _ in range(50):
            result = allocate(ice["credential"])
            if result.returncode == 0 or "Cannot complete Allocation" in result.stdout + result.stderr:
                break
            time.sleep(0.2)
        # The client reports its progress; the last report counts every echoed message.
        received = re.findall(r"tot_recv_msgs=(\d+)", result.stdout + result.stderr)
        check("coturn accepts the shim's credentials and relays traffic",
              result.returncode == 0 and received and int(received[-1]) > 0,
              f"exit {result.returncode}: " + (result.stdout + result.stderr)[-300:])
        result = allocate("not-the-credential")
        check("coturn refuses a wrong credential", result.returncode != 0)
    finally:
        turn.terminate()
        turn.wait(timeout=10)
finally:
    proc.terminate()
    proc.wait(timeout=5)

log = proc.stderr.read().decode()
check("the token never appears in the shim's log", token not in log and secret not in log)

empty = os.path.join(work, "empty-bundle.yml")
open(empty, "w").close()
result = subprocess.run([sys.executable, shim, "--listen-port", "0", "--secrets-bundle", empty,
                         "--static-auth-secret-file", secret_file, "--url", urls[0]], capture_output=True, text=True)
check("a bundle without the token is refused with its key name",
      result.returncode != 0 and "turn.cloudflare.apiToken" in result.stderr, result.stderr)

if failures:
    sys.exit(f"modules-turn-shim: {len(failures)} check(s) failed")
print("modules-turn-shim: all checks passed")
PY

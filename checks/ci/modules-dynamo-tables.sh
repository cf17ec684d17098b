#!/usr/bin/env bash
# The tables modules/dynamo.nix creates at boot (modules/lib/dynamo-tables.nix, evaluated for
# hosts/example) against a real sweetlies-dynamo on a throwaway PostgreSQL set up the way the
# modules do it (role and database of ensureUsers/ensureDatabases, password from
# postgresql-role-password.sh, scram-sha-256 over TCP, sweetlies-dynamo started with the unit's
# --database URL and --database-password-file): every CreateTable is accepted and DescribeTable
# returns the key schema and indexes the pinned server expects.
set -euo pipefail
export NIX_REMOTE=dummy://
cd "$(dirname "$0")/../.."
repo="$PWD"

dynamo="${CARGO_TARGET_DIR:-$repo/target}/debug/sweetlies-dynamo"
[ -x "$dynamo" ] || cargo build --quiet --locked -p sweetlies-dynamo

source checks/lib/postgresql.sh
dynamo_pid=""
cleanup() {
  [ -z "$dynamo_pid" ] || kill "$dynamo_pid" 2>/dev/null || true
  pg_stop
}
trap cleanup EXIT

pg_start modules-dynamo-tables
# services.postgresql.ensureDatabases/ensureUsers (ensureDBOwnership), then the password unit.
pg_create_role sweetlies_dynamo
pg_psql -qc 'CREATE DATABASE sweetlies_dynamo OWNER sweetlies_dynamo'
"${run[@]}" mkdir -m 0700 "$work/credentials"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | "${run[@]}" tee "$work/credentials/password" >/dev/null
pg_set_role_password sweetlies_dynamo
cp "$work/credentials/password" "$work/postgresql-password"

tables="$(nix-instantiate --eval --strict --json -E "
  let
    org = builtins.fromJSON (builtins.readFile $repo/hosts/example/org.json);
    public = builtins.fromJSON (builtins.readFile $repo/hosts/example/public.json);
    settings = import $repo/modules/lib/server-settings.nix { inherit org public; hostName = (builtins.head org.hosts).name; };
  in import $repo/modules/lib/dynamo-tables.nix { inherit (settings) dynamoDbTables; }")"

port="$(free_port)"
key_id="AKIDMODULESTEST"
secret="modules-test-only-insecure-secret"
printf '{"accessKeys":[{"accessKeyId":"%s","secretAccessKey":"%s"}]}' "$key_id" "$secret" >"$work/credentials.json"
"$dynamo" --listen "127.0.0.1:$port" \
  --database "postgres://sweetlies_dynamo@127.0.0.1:$pg_port/sweetlies_dynamo" \
  --database-password-file "$work/postgresql-password" \
  --credentials-file "$work/credentials.json" >"$work/dynamo.log" 2>&1 &
dynamo_pid=$!

python3 - "$port" "$key_id" "$secret" "$tables" <<'PY' || { echo "--- sweetlies-dynamo log" >&2; tail -n 30 "$work/dynamo.log" >&2; exit 1; }
import datetime, hashlib, hmac, json, socket, sys, time, urllib.request, urllib.error

port, key_id, secret, tables = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
host, region = f"127.0.0.1:{port}", "sweetlies"

def call(action, body):
    """One DynamoDB JSON 1.0 request, signed with AWS Signature Version 4."""
    payload = json.dumps(body).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": "application/x-amz-json-1.0", "host": host, "x-amz-date": amz_date,
               "x-amz-target": f"DynamoDB_20120810.{action}"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{day}/{region}/dynamodb/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    request = urllib.request.Request(f"http://{host}/", data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")

for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("sweetlies-dynamo did not start")

failures = []
def key_schema(entries):
    return sorted((k["AttributeName"], k["KeyType"]) for k in entries)

for table in tables:
    name = table["TableName"]
    status, body = call("CreateTable", table)
    if status != 200:
        failures.append(f"CreateTable {name}: {status} {body}")
        continue
    status, body = call("DescribeTable", {"TableName": name})
    described = body.get("Table", {})
    if status != 200 or key_schema(described.get("KeySchema", [])) != key_schema(table["KeySchema"]):
        failures.append(f"DescribeTable {name}: key schema {described.get('KeySchema')} != {table['KeySchema']}")
    wanted = {i["IndexName"]: key_schema(i["KeySchema"]) for i in table.get("GlobalSecondaryIndexes", [])}
    got = {i["IndexName"]: key_schema(i["KeySchema"]) for i in described.get("GlobalSecondaryIndexes", [])}
    if wanted != got:
        failures.append(f"DescribeTable {name}: indexes {got} != {wanted}")

status, body = call("ListTables", {})
missing = {t["TableName"] for t in tables} - set(body.get("TableNames", []))
if status != 200 or missing:
    failures.append(f"ListTables misses {sorted(missing)}")
status, _ = call("CreateTable", tables[0])
if status == 200:
    failures.append("a second CreateTable of the same table succeeded")

for failure in failures:
    print("  FAIL  " + failure, file=sys.stderr)
if failures:
    sys.exit(1)
print(f"modules-dynamo-tables: sweetlies-dynamo created and describes all {len(tables)} tables")
PY

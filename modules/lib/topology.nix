# Pure (builtins only): where each role of the org runs, seen from one host, and the fixed local
# ports, bucket names and paths every module and the server configuration agree on.
{ org, hostName }:
let
  supportedSchemaVersion = 1;

  schemaGate =
    if !(org ? schemaVersion) then
      throw "sweetlies: org.json has no schemaVersion; regenerate it with `sweetlies-appliance new` or add \"schemaVersion\": ${toString supportedSchemaVersion}."
    else if org.schemaVersion > supportedSchemaVersion then
      throw "sweetlies: org.json has schemaVersion ${toString org.schemaVersion}, these modules understand up to ${toString supportedSchemaVersion}; update the Sweet Lies checkout (flake input) before deploying this org."
    else if org.schemaVersion < supportedSchemaVersion then
      throw "sweetlies: org.json has schemaVersion ${toString org.schemaVersion}; migrate it with `sweetlies-appliance migrate` (see docs/org-spec.md, migration notes) before deploying."
    else
      true;

  hostsWithRole = role: builtins.filter (host: builtins.elem role host.roles) org.hosts;

  matchingHosts = builtins.filter (host: host.name == hostName) org.hosts;
  thisHost =
    if matchingHosts == [ ] then
      throw "sweetlies: host `${hostName}` is not in org `${org.org}` (hosts: ${builtins.concatStringsSep ", " (map (h: h.name) org.hosts)}); set services.sweetlies.hostName to one of them."
    else
      builtins.head matchingHosts;

  firstHostWithRole =
    role:
    let
      candidates = hostsWithRole role;
    in
    if candidates == [ ] then
      throw "sweetlies: no host of org `${org.org}` has role `${role}`; add it to a host's roles in org.json."
    else
      builtins.head candidates;

  hasRole = role: builtins.elem role thisHost.roles;

  # Local roles are reached over loopback; remote ones by host name (DNS or networking.hosts).
  addressFor = role: if hasRole role then "127.0.0.1" else (firstHostWithRole role).name;

  ports = {
    serverHttp = 8080;
    serverAdmin = 8081;
    serverGrpc = 50051;
    # Worker commands that are Dropwizard ServerCommands start the `server` connectors too.
    messagePersisterHttp = 8082;
    messagePersisterAdmin = 8083;
    idleDeviceJobsHttp = 8084;
    idleDeviceJobsAdmin = 8085;
    dynamo = 8000;
    postgresql = 5432;
    garageS3 = 3900;
    garageRpc = 3901;
    garageWeb = 3902;
    garageAdmin = 3903;
    foundationdb = 4500;
    valkeyPubsub = 6379;
    # One single-node Valkey cluster per Signal-Server cluster client: their key spaces overlap.
    valkeyClusters = {
      cache = 7001;
      messages = 7002;
      pushScheduler = 7003;
      rateLimiters = 7004;
    };
    turnShim = 8090;
    turn = 3478;
    turnTls = 5349;
    turnRelayMin = 49152;
    turnRelayMax = 49999;
  };

  # What coturn (modules/coturn.nix) listens on, as the URLs clients are given for `host` (a
  # name, or the `%s` of the server's turn.cloudflare.urlsWithIps template).
  turnUrls = host: [
    "turn:${host}:${toString ports.turn}"
    "turn:${host}:${toString ports.turn}?transport=tcp"
    "turns:${host}:${toString ports.turnTls}?transport=tcp"
  ];
in
assert schemaGate;
{
  inherit
    supportedSchemaVersion
    thisHost
    hasRole
    addressFor
    hostsWithRole
    ports
    turnUrls
    ;
  roles = thisHost.roles;

  s3 = rec {
    # The region of the AWS_REGION in signal-server/aws.env (sweetlies-appliance `new`).
    region = "garage";
    # Garage answers path style and, with root_domain, virtual-host style (the AWS SDK's default
    # for the prekey and cdn clients); *.s3.localhost is pinned to loopback in networking.hosts.
    rootDomain = "s3.localhost";
    # Where the server's S3 clients (endpointOverride, AWS_ENDPOINT_URL_S3) reach Garage.
    endpoint = "http://${rootDomain}:${toString ports.garageS3}";
    buckets = {
      preKeys = "sweetlies-prekeys";
      cdn0 = "sweetlies-cdn0";
      cdn3 = "sweetlies-cdn3";
      config = "sweetlies-config";
    };
  };

  paths = {
    secretsDir = "/run/sweetlies/secrets";
    hostIdentity = "/var/lib/sweetlies/host.agekey";
    fdbClusterFile = "/etc/foundationdb/fdb.cluster";
  };
}

# Pure (builtins only): what the appliance VM test (checks/appliance.nix) needs from an org
# directory, evaluated in CI without nixpkgs by tests/server_settings.rs (cargo test).
{
  orgDir,
  fixturesDir,
}:
let
  org = builtins.fromJSON (builtins.readFile (orgDir + "/org.json"));
  public = builtins.fromJSON (builtins.readFile (orgDir + "/public.json"));
  host = builtins.head org.hosts;
  hostName = host.name;
  settings = import ./server-settings.nix { inherit org public hostName; };
in
{
  inherit org public hostName;
  roles = host.roles;
  identity = fixturesDir + "/hosts/${hostName}.agekey";
  secretsFile = orgDir + "/secrets/${hostName}.age";
  serviceNames = builtins.attrValues org.services;
  chatUrl = "https://${org.services.chat}";
  orgCaCertificate = public.orgCaCertificate;
  tableNames = map (table: table.TableName) (
    import ./dynamo-tables.nix { inherit (settings) dynamoDbTables; }
  );
}

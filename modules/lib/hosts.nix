# Host discovery for the flake (builtins only, so CI evaluates it without nixpkgs).
#
# Every directory `hostsDir/<org>/` that has a `default.nix` is an org; that file is a
# function `{ self }:` returning `{ "<host>" = <NixOS module>; }` (docs/org-spec.md).
# The result maps each host name to `{ org; module; }`. A host name must be unique across
# orgs because it becomes the `nixosConfigurations` attribute name.
{ hostsDir, self }:
let
  entries = if builtins.pathExists hostsDir then builtins.readDir hostsDir else { };

  orgs = builtins.filter (
    name: entries.${name} == "directory" && builtins.pathExists (hostsDir + "/${name}/default.nix")
  ) (builtins.attrNames entries);

  hostsOf =
    org:
    let
      entryFile = hostsDir + "/${org}/default.nix";
      hosts = import entryFile { inherit self; };
    in
    if builtins.isAttrs hosts then
      builtins.mapAttrs (_: module: { inherit org module; }) hosts
    else
      throw "${toString entryFile} must return an attribute set { \"<host>\" = <module>; } (see docs/org-spec.md)";

  addOrg =
    acc: org:
    let
      hosts = hostsOf org;
      clashes = builtins.filter (host: acc ? ${host}) (builtins.attrNames hosts);
    in
    if clashes == [ ] then
      acc // hosts
    else
      let
        host = builtins.head clashes;
      in
      throw "host '${host}' is defined by both hosts/${acc.${host}.org} and hosts/${org}: host names must be unique across orgs (rename one in its org.json and default.nix)";
in
builtins.foldl' addOrg { } orgs

# The systemd sandbox the Sweet Lies services run in (pure: builtins only). A unit adds what it
# needs on top with `//` (its user, credentials, exceptions such as a JIT's W^X).
{
  # Addresses the unit may reach (IPAddressAllow); everything else is denied.
  allowedAddresses,
  addressFamilies ? [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
  ],
  # Off only for JIT compilers (the JVM), which need writable and executable memory.
  memoryDenyWriteExecute ? true,
}:
{
  UMask = "0077";
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  PrivateUsers = true;
  NoNewPrivileges = true;
  CapabilityBoundingSet = "";
  RestrictAddressFamilies = addressFamilies;
  IPAddressDeny = "any";
  IPAddressAllow = allowedAddresses;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  ProtectProc = "invisible";
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  MemoryDenyWriteExecute = memoryDenyWriteExecute;
  SystemCallArchitectures = "native";
  SystemCallFilter = [
    "@system-service"
    "~@privileged"
  ];
}

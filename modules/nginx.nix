# nginx (`edge` role): TLS for the org's public names, with certificates from the org CA (in the
# secrets, default) or from ACME for publicly resolvable names. Routes: chat (REST and
# websocket) to Signal-Server, cdn (cdn0) and cdn3 attachment downloads to Garage's web endpoint.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.sweetlies;
  ecfg = cfg.edge;
  inherit (cfg) topology;
  inherit (topology) ports s3;
  enabled = cfg.enable && topology.hasRole "edge";
  credentials = "/run/credentials/nginx.service";
  services = cfg.org.services;

  tls =
    service:
    if ecfg.acme.enable then
      { enableACME = true; }
    else
      {
        sslCertificate = "${credentials}/${service}.crt";
        sslCertificateKey = "${credentials}/${service}.key";
      };

  # Garage serves a bucket on its web endpoint by Host header `<bucket>.<web root domain>`.
  bucketDownloads = bucket: {
    forceSSL = true;
    locations."/attachments/" = {
      proxyPass = "http://127.0.0.1:${toString ports.garageWeb}";
      extraConfig = ''
        limit_except GET HEAD { deny all; }
        proxy_set_header Host ${bucket}.${webRootDomain};
      '';
    };
  };
  webRootDomain = "web.localhost";
in
{
  options.services.sweetlies.edge = {
    acme = {
      enable = lib.mkEnableOption "ACME (Let's Encrypt) certificates for the public names instead of the org CA's";
      email = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        description = "ACME account e-mail address.";
      };
    };
    maxBodySize = lib.mkOption {
      type = lib.types.str;
      default = "100m";
      description = "client_max_body_size of the chat API.";
    };
  };

  config = lib.mkIf enabled {
    assertions = [
      {
        assertion = ecfg.acme.enable -> ecfg.acme.email != null;
        message = "services.sweetlies.edge.acme.enable needs services.sweetlies.edge.acme.email.";
      }
    ];

    security.acme = lib.mkIf ecfg.acme.enable {
      acceptTerms = true;
      defaults.email = ecfg.acme.email;
    };

    services.nginx = {
      enable = true;
      recommendedTlsSettings = true;
      recommendedProxySettings = true;
      recommendedOptimisation = true;
      recommendedGzipSettings = false;
      virtualHosts = {
        ${services.chat} = tls "chat" // {
          forceSSL = true;
          locations."/" = {
            proxyPass = "http://${topology.addressFor "chat"}:${toString ports.serverHttp}";
            proxyWebsockets = true;
            extraConfig = ''
              client_max_body_size ${ecfg.maxBodySize};
              proxy_read_timeout 1h;
            '';
          };
        };
        ${services.cdn} = tls "cdn" // bucketDownloads s3.buckets.cdn0;
        ${services.cdn3} = tls "cdn3" // bucketDownloads s3.buckets.cdn3;
      };
    };

    services.garage.settings.s3_web = lib.mkIf (topology.hasRole "garage") {
      bind_addr = "127.0.0.1:${toString ports.garageWeb}";
      root_domain = ".${webRootDomain}";
    };

    systemd.services.nginx = lib.mkIf (!ecfg.acme.enable) {
      requires = cfg.secrets.unitDependencies.requires;
      after = cfg.secrets.unitDependencies.after;
      serviceConfig.LoadCredential = lib.concatMap (service: [
        (cfg.secrets.credential "${service}.crt" "tls/${service}.crt")
        (cfg.secrets.credential "${service}.key" "tls/${service}.key")
      ]) [ "chat" "cdn" "cdn3" ];
    };
  };
}

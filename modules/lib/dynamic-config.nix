# Pure (builtins only): the org spec -> Signal-Server's dynamic configuration
# (DynamicConfiguration at the pinned tag), uploaded to Garage as `dynamic-config.yaml` in the
# config bucket (modules/garage.nix) and polled by the server (server-settings.nix dynamicConfig).
{ org }:
let
  cdn3Percentage = org.features.cdn3Percentage or 100;
in
assert builtins.isInt cdn3Percentage && cdn3Percentage >= 0 && cdn3Percentage <= 100
  || throw "sweetlies: features.cdn3Percentage must be an integer 0..100 (got ${builtins.toJSON cdn3Percentage}).";
{
  # Attachments: cdn2 is Google Cloud Storage, so every account uploads to cdn3 (tus + Garage).
  experiments.cdn3.enrollmentPercentage = cdn3Percentage;

  # The gRPC API is disabled upstream by default; the org's own clients may use all of it.
  grpcAllowList.enableAll = true;

  # Required (@NotNull). No captcha provider runs (allowHCaptcha stays false).
  captcha.scoreFloor = "1.0";

  metricsConfiguration = {
    enableLettuceRemoteTag = false;
    enableAwsSdkMetrics = false;
  };
}

# Pure (builtins only): the org spec -> the complete Signal-Server configuration (Dropwizard YAML,
# emitted as JSON) for one host, at the pinned server tag (see org.upstream.signalServer).
#
# Secrets appear only as `secret://<bundle key>` references into signal-server/secrets-bundle.yml
# (decrypted at boot, passed with -Dsecrets.bundle.filename). Two values the server takes only as
# plain strings come from the unit's systemd credentials through Dropwizard's environment
# substitution: `${VALKEY_PASSWORD}` (inside the redis:// URIs) and `${KT_CLIENT_CERTIFICATE}`. Nothing here may point at a vendor: sections for services
# Sweet Lies does not run are inert and point at `*.invalid` (RFC 6761, never resolves).
{
  org,
  public,
  hostName,
}:
let
  topology = import ./topology.nix { inherit org hostName; };
  inherit (topology) ports s3 addressFor;

  secret = key: "secret://${key}";
  inert = name: "${name}.invalid";

  requirePublic =
    field:
    if public ? ${field} then
      public.${field}
    else
      throw "sweetlies: hosts/${org.org}/public.json lacks `${field}`; regenerate it with `sweetlies-appliance new` (docs/org-spec.md lists the fields).";

  # Certificates of the services that stay inert: the org CA parses as a certificate and trusts
  # nothing outside the org.
  orgCa = requirePublic "orgCaCertificate";

  valkeyUri = port: "redis://:\${VALKEY_PASSWORD}@${addressFor "valkey"}:${toString port}";
  valkeyCluster = port: { configurationUri = valkeyUri port; };

  tablePrefix = "Sweetlies_";
  table = name: { tableName = tablePrefix + name; };

  # Upstream's stub factories, shipped in the jar by patches/signal-server/0001: Google Cloud
  # Pub/Sub (Braintree, call quality survey) is never contacted.
  stub = {
    type = "stub";
  };

  https = name: "https://${org.services.${name}}";
in
{
  logging = {
    level = "INFO";
    appenders = [
      {
        type = "console";
        threshold = "ALL";
        timeZone = "UTC";
        target = "stdout";
      }
    ];
  };

  server = {
    applicationConnectors = [
      {
        type = "http";
        bindHost = "127.0.0.1";
        port = ports.serverHttp;
      }
    ];
    adminConnectors = [
      {
        type = "http";
        bindHost = "127.0.0.1";
        port = ports.serverAdmin;
      }
    ];
  };

  tlsKeyStore.password = secret "tlsKeyStore.password";

  # One static key for DynamoDB (sweetlies-dynamo) and S3 (Garage): docs/org-spec.md.
  awsCredentialsProvider = {
    type = "static";
    accessKeyId = secret "cdn.accessKey";
    secretAccessKey = secret "cdn.accessSecret";
  };

  stripe = {
    apiKey = secret "stripe.apiKey";
    idempotencyKeyGenerator = secret "stripe.idempotencyKeyGenerator";
    boostDescription = "Sweet Lies (payments disabled)";
    supportedCurrenciesByPaymentMethod.CARD = [ "eur" ];
  };

  braintree = {
    merchantId = "sweetlies-inert";
    publicKey = secret "braintree.publicKey";
    privateKey = secret "braintree.privateKey";
    environment = "sandbox";
    graphqlUrl = "https://${inert "braintree"}/graphql";
    merchantAccounts.eur = "sweetlies-inert";
    supportedCurrenciesByPaymentMethod.PAYPAL = [ "eur" ];
    pubSubPublisher = stub;
  };

  googlePlayBilling = {
    # Parsed with GoogleCredentials.fromStream at startup, so it must be a well-formed credential:
    # an OAuth user credential of placeholders (no key; refreshed only on use, never here).
    credentialsJson = builtins.toJSON {
      type = "authorized_user";
      client_id = "sweetlies-inert";
      client_secret = "sweetlies-inert";
      refresh_token = "sweetlies-inert";
      token_uri = "https://${inert "oauth2"}/token";
    };
    packageName = "org.sweetlies.inert";
    applicationName = "sweetlies";
    productIdToLevel = { };
  };

  appleAppStore = {
    env = "SANDBOX";
    bundleId = "org.sweetlies.inert";
    appAppleId = 1;
    issuerId = "sweetlies-inert";
    keyId = "sweetlies-inert";
    encodedKey = secret "appleAppStore.encodedKey";
    subscriptionGroupId = "sweetlies-inert";
    productIdToLevel = { };
    appleRootCerts = [ ];
  };

  appleDeviceCheck = {
    production = false;
    teamId = "sweetlies-inert";
    bundleId = "org.sweetlies.inert";
  };

  deviceCheck.backupRedemptionDuration = "P30D";

  # The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB in the unit environment (sweetlies-dynamo).
  dynamoDbClient.region = s3.region;

  dynamoDbTables = {
    accounts = {
      tableName = tablePrefix + "Accounts";
      phoneNumberTableName = tablePrefix + "Accounts_PhoneNumbers";
      phoneNumberIdentifierTableName = tablePrefix + "Accounts_PhoneNumberIdentifiers";
      usernamesTableName = tablePrefix + "Accounts_Usernames";
      usedLinkDeviceTokensTableName = tablePrefix + "Accounts_UsedLinkDeviceTokens";
    };
    appleDeviceChecks = table "AppleDeviceChecks";
    appleDeviceCheckPublicKeys = table "AppleDeviceCheckPublicKeys";
    backups = table "Backups";
    changeNumberWaitingPeriods = table "ChangeNumberWaitingPeriods";
    clientReleases = table "ClientReleases";
    deletedAccounts = table "DeletedAccounts";
    deletedAccountsLock = table "DeletedAccountsLock";
    donationPermits = table "DonationPermits" // { expiration = "P7D"; };
    issuedReceipts = table "IssuedReceipts" // {
      # Not a secret: salts receipt ids for a payments feature that is disabled.
      generator = "c3dlZXRsaWVzLWluZXJ0LXJlY2VpcHRz";
      maxReceiptsPerSubscriptionPayment = {
        STRIPE = 1;
        BRAINTREE = 1;
        GOOGLE_PLAY_BILLING = 1;
        APPLE_APP_STORE = 1;
      };
    };
    ecKeys = table "Keys";
    ecSignedPreKeys = table "EC_Signed_Pre_Keys";
    pagedPqKeys = table "PQ_Paged_Keys";
    pqLastResortKeys = table "PQ_Last_Resort_Keys";
    messages = table "Messages" // { expiration = "P30D"; };
    onetimeDonations = table "OnetimeDonations" // { expiration = "P90D"; };
    phoneNumberIdentifiers = table "PhoneNumberIdentifiers";
    profileAvatars = table "ProfileAvatars";
    profiles = table "Profiles";
    profilesV2 = table "ProfilesV2";
    pushChallenge = table "PushChallenge";
    pushNotificationExperimentSamples = table "PushNotificationExperimentSamples";
    redeemedReceipts = table "RedeemedReceipts";
    registrationRecovery = table "RegistrationRecovery" // { expiration = "P300D"; };
    remoteConfig = table "RemoteConfig";
    reportMessage = table "ReportMessage";
    scheduledJobs = table "ScheduledJobs" // { expiration = "P7D"; };
    subscriptions = table "Subscriptions";
    verificationSessions = table "VerificationSessions";
  };

  pagedSingleUseKEMPreKeyStore = {
    bucket = s3.buckets.preKeys;
    inherit (s3) region;
    endpointOverride = s3.endpoint;
  };

  cacheCluster = valkeyCluster ports.valkeyClusters.cache;
  pubsub.uri = valkeyUri ports.valkeyPubsub;
  pushSchedulerCluster = valkeyCluster ports.valkeyClusters.pushScheduler;
  rateLimitersCluster = valkeyCluster ports.valkeyClusters.rateLimiters;
  messageCache = {
    persistDelayMinutes = 1;
    cluster = valkeyCluster ports.valkeyClusters.messages;
  };

  # CDSI and SVR2/SVRB need Intel SGX enclaves; disabled (discovery by username).
  directoryV2.client = {
    userAuthenticationTokenSharedSecret = secret "directoryV2.client.userAuthenticationTokenSharedSecret";
    userIdTokenSharedSecret = secret "directoryV2.client.userIdTokenSharedSecret";
  };
  svr2 = {
    uri = "https://${inert "svr2"}";
    userAuthenticationTokenSharedSecret = secret "svr2.userAuthenticationTokenSharedSecret";
    userIdTokenSharedSecret = secret "svr2.userIdTokenSharedSecret";
    svrCaCertificates = [ orgCa ];
  };
  svrb = {
    uri = "https://${inert "svrb"}";
    userAuthenticationTokenSharedSecret = secret "svrb.userAuthenticationTokenSharedSecret";
    userIdTokenSharedSecret = secret "svrb.userIdTokenSharedSecret";
    svrCaCertificates = [ orgCa ];
  };

  attachments = {
    maxAttachmentUploadSizeInBytes = 100 * 1024 * 1024;
    maxMessageBackupUploadSizeInBytes = 100 * 1024 * 1024;
  };

  # cdn2 (Google Cloud Storage) is never used: every upload goes to cdn3 (dynamic config).
  gcpAttachments = {
    domain = inert "gcs";
    email = "inert@${inert "gcs"}";
    pathPrefix = "";
    rsaSigningKey = secret "gcpAttachments.rsaSigningKey";
  };

  tus = {
    uploadUri = "${https "cdn3"}/upload";
    userAuthenticationTokenSharedSecret = secret "tus.userAuthenticationTokenSharedSecret";
  };

  # Push goes over the websocket (features.push); APNs/FCM stay inert.
  apn = {
    sandbox = true;
    bundleId = "org.sweetlies.inert";
    keyId = secret "apn.keyId";
    teamId = secret "apn.teamId";
    signingKey = secret "apn.signingKey";
  };
  fcm.credentials = secret "fcm.credentials";

  cdn = {
    bucket = s3.buckets.cdn0;
    credentials = {
      accessKeyId = secret "cdn.accessKey";
      secretAccessKey = secret "cdn.accessSecret";
    };
    inherit (s3) region;
    endpointOverride = s3.endpoint;
  };

  # Backup media copy goes through a storage manager Sweet Lies does not run yet.
  cdn3StorageManager = {
    baseUri = "https://${inert "storage-manager"}";
    clientId = "sweetlies";
    clientSecret = secret "cdn3StorageManager.clientSecret";
    sourceSchemes."3" = "s3";
  };

  openTelemetry.enabled = false;

  unidentifiedDelivery = {
    certificate = requirePublic "unidentifiedDeliveryCertificate";
    privateKey = secret "unidentifiedDelivery.privateKey";
    expiresDays = 7;
    embedSigner = true;
  };

  shortCode.baseUrl = "https://${inert "shortcodes"}/";

  # Storage service (Bigtable stand-in on PostgreSQL) is a later issue; its public name is fixed.
  storageService = {
    uri = https "storage";
    userAuthenticationTokenSharedSecret = secret "storageService.userAuthenticationTokenSharedSecret";
    storageCaCertificates = [ orgCa ];
  };

  callingZkConfig.serverSecret = secret "callingZkConfig.serverSecret";
  chatZkConfig.serverSecret = secret "chatZkConfig.serverSecret";
  groupsZkConfig = {
    serverPublic = requirePublic "zkgroupServerPublicParams";
    serverSecret = secret "zkConfig-libsignal-0.42.serverSecret";
  };

  dynamicConfig = {
    s3Region = s3.region;
    s3Bucket = s3.buckets.config;
    objectKey = "dynamic-config.yaml";
    endpointOverride = s3.endpoint;
    maxSize = 1024 * 1024;
    refreshInterval = "PT10S";
  };

  remoteConfig.globalConfig = { };

  # MobileCoin payments are out of scope; the stub clients never call Fixer or CoinGecko.
  paymentsService = {
    userAuthenticationTokenSharedSecret = secret "paymentsService.userAuthenticationTokenSharedSecret";
    paymentCurrencies = [ "MOB" ];
    externalClients = stub;
  };

  badges = {
    badges = [ ];
    receiptLevels = { };
  };

  subscription = {
    badgeExpiration = "P30D";
    badgeGracePeriod = "P15D";
    backupExpiration = "P30D";
    backupGracePeriod = "P15D";
    backupFreeTierMediaDuration = "P30D";
    levels = { };
  };

  loginPurchase = {
    playProductId = "sweetlies-inert";
    appStoreProductId = "sweetlies-inert";
  };

  oneTimeDonations = {
    sepaMaximumEuros = "0";
    boost = {
      expiration = "P90D";
      badge = "sweetlies-inert";
    };
    gift = {
      expiration = "P90D";
      badge = "sweetlies-inert";
    };
    currencies = { };
  };

  # No registration service (Twilio, Google identity tokens): upstream's stub accepts every
  # verification code, so registration is open until invite codes replace it (later issue);
  # modules/server.nix refuses a non-demo org unless the operator accepts that.
  registrationService = stub // {
    collationKeySalt = secret "registrationService.collationKeySalt";
    registrationCaCertificate = orgCa;
  };

  keyTransparencyService = {
    host = inert "kt";
    port = 443;
    tlsCertificate = orgCa;
    # Issued by `new` for the key in the bundle; it is only in the secrets file, so the unit
    # exports it (newlines escaped for this JSON string) and Dropwizard substitutes it.
    clientCertificate = "\${KT_CLIENT_CERTIFICATE}";
    clientPrivateKey = secret "keyTransparencyService.clientPrivateKey";
  };

  # coturn behind a local shim that answers Cloudflare's credentials API (modules/coturn.nix).
  turn.cloudflare = {
    apiToken = secret "turn.cloudflare.apiToken";
    endpoint = "http://${addressFor "turn"}:${toString ports.turnShim}/v1/turn/keys/sweetlies/credentials/generate";
    urls = [ "turn:${org.services.turn}:${toString ports.turn}" ];
    urlsWithIps = topology.turnUrls "%s";
    requestedCredentialTtl = "PT24H";
    clientCredentialTtl = "PT12H";
    hostname = org.services.turn;
    numHttpClients = 1;
  };

  linkDevice.secret = secret "linkDevice.secret";

  externalRequestFilter = {
    grpcMethods = [ ];
    paths = [ ];
    permittedInternalRanges = [ "127.0.0.0/8" ];
  };

  idlePrimaryDeviceReminder.minIdleDuration = "P30D";

  grpc = {
    bindAddress = "127.0.0.1";
    port = ports.serverGrpc;
    websocketAddress = "127.0.0.1";
    websocketPort = ports.serverHttp;
  };

  # No IP-to-ASN data (upstream polls a table built from iptoasn.com): an empty static table.
  asnTable = {
    type = "static";
    object = "";
  };

  callQualitySurvey.pubSubPublisher = stub;

  hlrLookup = {
    apiKey = secret "hlrLookup.apiKey";
    apiSecret = secret "hlrLookup.apiSecret";
  };

  foundationDbMessages = {
    clusters.messages-0.clusterFileUrl = "file://${topology.paths.fdbClusterFile}";
    epochs."0" = [ "messages-0" ];
    activeEpoch = 0;
    versionstampCipherKeys."0" = secret "foundationDbMessages.versionstampCipherKey.0";
    currentVersionstampCipherKey = 0;
    maxWatchesPerClient = 10000;
    transactionTimeout = "PT1S";
    transactionRetryLimit = 3;
    batchPriorityTransactionTimeout = "PT5S";
    batchPriorityTransactionRetryLimit = 10;
  };
}

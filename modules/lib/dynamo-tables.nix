# Pure (builtins only): the CreateTable requests for every DynamoDB table the server
# configuration names (server-settings.nix dynamoDbTables), created in sweetlies-dynamo by
# modules/dynamo.nix before the server starts. Key schemas and indexes are the pinned server's
# (v20260820.3.0): service/src/test/.../storage/DynamoDbExtensionSchema.java with the attribute
# names of the storage classes it references (Accounts.KEY_ACCOUNT_UUID = "U", …).
{ dynamoDbTables }:
let
  attribute = name: type: {
    AttributeName = name;
    AttributeType = type;
  };

  keyElement = name: keyType: {
    AttributeName = name;
    KeyType = keyType;
  };

  keysOnlyIndex = indexName: hashKey: {
    IndexName = indexName;
    KeySchema = [ (keyElement hashKey "HASH") ];
    Projection.ProjectionType = "KEYS_ONLY";
  };

  # hash: [name type]; range: null or [name type]; extra: more attribute definitions for indexes.
  table =
    {
      name,
      hash,
      range ? null,
      extraAttributes ? [ ],
      indexes ? [ ],
    }:
    let
      keys = [
        {
          key = hash;
          keyType = "HASH";
        }
      ]
      ++ (
        if range == null then
          [ ]
        else
          [
            {
              key = range;
              keyType = "RANGE";
            }
          ]
      );
    in
    {
      TableName = name;
      BillingMode = "PAY_PER_REQUEST";
      KeySchema = map (k: keyElement (builtins.elemAt k.key 0) k.keyType) keys;
      AttributeDefinitions =
        map (k: attribute (builtins.elemAt k.key 0) (builtins.elemAt k.key 1)) keys ++ extraAttributes;
    }
    // (if indexes == [ ] then { } else { GlobalSecondaryIndexes = indexes; });

  t = dynamoDbTables;
in
[
  (table {
    name = t.accounts.tableName;
    hash = [ "U" "B" ];
    extraAttributes = [ (attribute "UL" "B") ];
    indexes = [ (keysOnlyIndex "ul_to_u" "UL") ];
  })
  (table {
    name = t.accounts.phoneNumberTableName;
    hash = [ "P" "S" ];
  })
  (table {
    name = t.accounts.phoneNumberIdentifierTableName;
    hash = [ "PNI" "B" ];
  })
  (table {
    name = t.accounts.usernamesTableName;
    hash = [ "N" "B" ];
  })
  (table {
    name = t.accounts.usedLinkDeviceTokensTableName;
    hash = [ "H" "B" ];
  })
  (table {
    name = t.appleDeviceChecks.tableName;
    hash = [ "U" "B" ];
    range = [ "KID" "B" ];
  })
  (table {
    name = t.appleDeviceCheckPublicKeys.tableName;
    hash = [ "PK" "B" ];
  })
  (table {
    name = t.backups.tableName;
    hash = [ "U" "B" ];
  })
  (table {
    name = t.changeNumberWaitingPeriods.tableName;
    hash = [ "U" "B" ];
  })
  (table {
    name = t.clientReleases.tableName;
    hash = [ "P" "S" ];
    range = [ "V" "S" ];
  })
  (table {
    name = t.deletedAccounts.tableName;
    hash = [ "P" "S" ];
    extraAttributes = [ (attribute "U" "B") ];
    indexes = [ (keysOnlyIndex "u_to_p" "U") ];
  })
  (table {
    name = t.deletedAccountsLock.tableName;
    hash = [ "P" "S" ];
  })
  (table {
    name = t.donationPermits.tableName;
    hash = [ "I" "B" ];
  })
  (table {
    name = t.issuedReceipts.tableName;
    hash = [ "A" "S" ];
  })
  (table {
    name = t.ecKeys.tableName;
    hash = [ "U" "B" ];
    range = [ "DK" "B" ];
  })
  (table {
    name = t.ecSignedPreKeys.tableName;
    hash = [ "U" "B" ];
    range = [ "D" "N" ];
  })
  (table {
    name = t.pagedPqKeys.tableName;
    hash = [ "U" "B" ];
    range = [ "D" "N" ];
  })
  (table {
    name = t.pqLastResortKeys.tableName;
    hash = [ "U" "B" ];
    range = [ "D" "N" ];
  })
  (table {
    name = t.messages.tableName;
    hash = [ "H" "B" ];
    range = [ "S" "B" ];
  })
  (table {
    name = t.onetimeDonations.tableName;
    hash = [ "P" "S" ];
  })
  (table {
    name = t.phoneNumberIdentifiers.tableName;
    hash = [ "P" "S" ];
    extraAttributes = [ (attribute "PNI" "B") ];
    indexes = [ (keysOnlyIndex "pni_to_p" "PNI") ];
  })
  (table {
    name = t.profileAvatars.tableName;
    hash = [ "I" "B" ];
  })
  (table {
    name = t.profiles.tableName;
    hash = [ "U" "B" ];
    range = [ "V" "S" ];
  })
  (table {
    name = t.profilesV2.tableName;
    hash = [ "U" "B" ];
    range = [ "V" "B" ];
  })
  (table {
    name = t.pushChallenge.tableName;
    hash = [ "U" "B" ];
  })
  (table {
    name = t.pushNotificationExperimentSamples.tableName;
    hash = [ "N" "S" ];
    range = [ "AD" "B" ];
  })
  (table {
    name = t.redeemedReceipts.tableName;
    hash = [ "S" "B" ];
  })
  (table {
    name = t.registrationRecovery.tableName;
    hash = [ "P" "S" ];
  })
  (table {
    name = t.remoteConfig.tableName;
    hash = [ "N" "S" ];
  })
  (table {
    name = t.reportMessage.tableName;
    hash = [ "H" "B" ];
  })
  (table {
    name = t.scheduledJobs.tableName;
    hash = [ "S" "S" ];
    range = [ "T" "B" ];
  })
  (table {
    name = t.subscriptions.tableName;
    hash = [ "U" "B" ];
    extraAttributes = [ (attribute "PC" "B") ];
    indexes = [ (keysOnlyIndex "pc_to_u" "PC") ];
  })
  (table {
    name = t.verificationSessions.tableName;
    hash = [ "K" "S" ];
  })
]

//! Every expression string Signal-Server's storage package sends (tag v20260820.3.0,
//! `service/src/main/java/org/whispersystems/textsecuregcm/storage`, found with
//! `git grep -E 'Expression|attribute_|if_not_exists|list_append|begins_with'`), with the
//! ExpressionAttributeNames and value types it uses, parsed and evaluated against items shaped
//! like Signal's. The comment above each case names the source file.

use dynamo_model::expr::SortKeyOp;
use dynamo_model::{
    AttributeValue as V, ExpressionAttributes, Item, KeyAttribute, ValueType, item_from_json,
};
use serde_json::{Value, json};

fn item(json: Value) -> Item {
    item_from_json(&json).expect("valid item")
}

fn attrs(names: &Value, values: &Value) -> ExpressionAttributes {
    let names = (!names.is_null()).then_some(names);
    let values = (!values.is_null()).then_some(values);
    ExpressionAttributes::from_json(names, values).expect("valid attribute maps")
}

/// Parses `condition` with exactly these names and values (all must be used) and checks its
/// verdict on each item.
fn check_condition(condition: &str, names: Value, values: Value, cases: &[(Value, bool)]) {
    let mut a = attrs(&names, &values);
    let parsed = a
        .condition(condition)
        .unwrap_or_else(|e| panic!("{condition}: {}", e.message));
    a.finish()
        .unwrap_or_else(|e| panic!("{condition}: {}", e.message));
    for (on, expected) in cases {
        assert_eq!(
            parsed.evaluate(&item(on.clone())),
            *expected,
            "{condition} on {on}"
        );
    }
}

/// Parses `update` (with an optional condition sharing the maps) and checks the result.
fn check_update(
    update: &str,
    condition: Option<&str>,
    names: Value,
    values: Value,
    before: Value,
    after: Value,
) {
    let mut a = attrs(&names, &values);
    let parsed = a
        .update(update)
        .unwrap_or_else(|e| panic!("{update}: {}", e.message));
    if let Some(condition) = condition {
        a.condition(condition)
            .unwrap_or_else(|e| panic!("{condition}: {}", e.message));
    }
    a.finish()
        .unwrap_or_else(|e| panic!("{update}: {}", e.message));
    let mut target = item(before);
    parsed
        .apply(&mut target)
        .unwrap_or_else(|e| panic!("{update}: {}", e.message));
    assert_eq!(target, item(after), "{update}");
}

fn check_projection(projection: &str, names: Value, on: Value, expected: Value) {
    let mut a = attrs(&names, &Value::Null);
    let parsed = a
        .projection(projection)
        .unwrap_or_else(|e| panic!("{projection}: {}", e.message));
    a.finish()
        .unwrap_or_else(|e| panic!("{projection}: {}", e.message));
    assert_eq!(parsed.apply(&item(on)), item(expected), "{projection}");
}

const ACI: &str = "AAAAAAAAAAAAAAAAAAAAAA==";
const OTHER_ACI: &str = "EREREREREREREREREREREQ==";

#[test]
fn accounts_conditions() {
    // Accounts.java: reserving a username hash.
    let names = json!({"#username_hash": "N", "#ttl": "TTL", "#uuid": "U"});
    let values = json!({":now": {"N": "1000"}, ":uuid": {"B": ACI}});
    check_condition(
        "attribute_not_exists(#username_hash) OR (#ttl < :now) OR #uuid = :uuid",
        names,
        values,
        &[
            (json!({}), true),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "999"}, "U": {"B": OTHER_ACI}}),
                true,
            ),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "1000"}, "U": {"B": OTHER_ACI}}),
                false,
            ),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "2000"}, "U": {"B": ACI}}),
                true,
            ),
        ],
    );

    // Accounts.java: changing a number.
    let names = json!({"#number": "P", "#version": "V"});
    let values = json!({":version": {"N": "3"}});
    check_condition(
        "attribute_exists(#number) AND #version = :version",
        names,
        values,
        &[
            (json!({"P": {"S": "+14155550100"}, "V": {"N": "3"}}), true),
            (json!({"P": {"S": "+14155550100"}, "V": {"N": "4"}}), false),
            (json!({"V": {"N": "3"}}), false),
        ],
    );

    // Accounts.java: confirming a username hash.
    let names = json!({"#username_hash": "N", "#ttl": "TTL", "#aci": "U", "#confirmed": "F"});
    let values = json!({":now": {"N": "1000"}, ":aci": {"B": ACI}, ":false": {"BOOL": false}, ":expirationTime": {"N": "5000"}});
    check_condition(
        "attribute_not_exists(#username_hash) OR #ttl < :now OR (#aci = :aci AND #confirmed = :false AND #ttl <= :expirationTime)",
        names,
        values,
        &[
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "4000"}, "U": {"B": ACI}, "F": {"BOOL": false}}),
                true,
            ),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "6000"}, "U": {"B": ACI}, "F": {"BOOL": false}}),
                false,
            ),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "4000"}, "U": {"B": ACI}, "F": {"BOOL": true}}),
                false,
            ),
            (
                json!({"N": {"B": "AQ=="}, "TTL": {"N": "4000"}, "U": {"B": OTHER_ACI}, "F": {"BOOL": false}}),
                false,
            ),
        ],
    );

    // Accounts.java: clearing a username hash reservation.
    let names = json!({"#aci": "U", "#confirmed": "F", "#ttl": "TTL", "#usernameHash": "N"});
    let values = json!({":aci": {"B": ACI}, ":false": {"BOOL": false}, ":now": {"N": "1000"}});
    check_condition(
        "(#aci = :aci AND #confirmed = :false) OR #ttl < :now OR attribute_not_exists(#usernameHash)",
        names,
        values,
        &[
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": ACI}, "F": {"BOOL": false}, "TTL": {"N": "5000"}}),
                true,
            ),
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": ACI}, "F": {"BOOL": true}, "TTL": {"N": "5000"}}),
                false,
            ),
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": ACI}, "F": {"BOOL": true}}),
                false,
            ),
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": ACI}, "F": {"BOOL": true}, "TTL": {"N": "10"}}),
                true,
            ),
        ],
    );

    // Accounts.java: setting a username hash.
    let names = json!({"#username_hash": "N", "#ttl": "TTL", "#aci": "U", "#confirmed": "F"});
    let values = json!({":now": {"N": "1000"}, ":aci": {"B": ACI}, ":confirmed": {"BOOL": false}});
    check_condition(
        "attribute_not_exists(#username_hash) OR #ttl < :now OR (#aci = :aci AND #confirmed = :confirmed)",
        names,
        values,
        &[
            (json!({}), true),
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": ACI}, "F": {"BOOL": false}}),
                true,
            ),
            (
                json!({"N": {"B": "AQ=="}, "U": {"B": OTHER_ACI}, "F": {"BOOL": false}}),
                false,
            ),
        ],
    );

    // Accounts.java: optimistic locking, and re-registration with an equivalent number.
    check_condition(
        "#version = :version",
        json!({"#version": "V"}),
        json!({":version": {"N": "7"}}),
        &[
            (json!({"V": {"N": "7"}}), true),
            (json!({"V": {"N": "8"}}), false),
        ],
    );
    check_condition(
        "#version = :version AND #number IN (:val0, :val1)",
        json!({"#version": "V", "#number": "P"}),
        json!({":version": {"N": "7"}, ":val0": {"S": "+2250700000000"}, ":val1": {"S": "+22500000000"}}),
        &[
            (json!({"V": {"N": "7"}, "P": {"S": "+22500000000"}}), true),
            (json!({"V": {"N": "7"}, "P": {"S": "+14155550100"}}), false),
        ],
    );

    // Accounts.java: link device token, PNI and E164 constraint tables.
    check_condition(
        "attribute_not_exists(#linkDeviceTokenHash)",
        json!({"#linkDeviceTokenHash": "H"}),
        Value::Null,
        &[(json!({}), true), (json!({"H": {"B": "AQ=="}}), false)],
    );
    check_condition(
        "attribute_not_exists(#pni) OR #pni = :pni",
        json!({"#pni": "PNI"}),
        json!({":pni": {"B": ACI}}),
        &[
            (json!({}), true),
            (json!({"PNI": {"B": ACI}}), true),
            (json!({"PNI": {"B": OTHER_ACI}}), false),
        ],
    );
    check_condition(
        "attribute_not_exists(#key) OR #uuid = :uuid",
        json!({"#key": "P", "#uuid": "U"}),
        json!({":uuid": {"B": ACI}}),
        &[
            (json!({"P": {"S": "+1"}, "U": {"B": OTHER_ACI}}), false),
            (json!({"P": {"S": "+1"}, "U": {"B": ACI}}), true),
        ],
    );
    // Also SerializedExpireableJsonDynamoStore.java.
    check_condition(
        "attribute_not_exists(#key)",
        json!({"#key": "P"}),
        Value::Null,
        &[(json!({}), true), (json!({"P": {"S": "+1"}}), false)],
    );
}

#[test]
fn accounts_updates() {
    // Accounts.java: changeNumber.
    let names = json!({"#data": "D", "#number": "P", "#pni": "PNI", "#cds": "C", "#version": "V"});
    let values = json!({":data": {"B": "e30="}, ":number": {"S": "+2"}, ":pni": {"B": ACI}, ":cds": {"BOOL": true},
        ":version_increment": {"N": "1"}, ":version": {"N": "3"}});
    check_update(
        "SET #data = :data, #number = :number, #pni = :pni, #cds = :cds ADD #version :version_increment",
        Some("attribute_exists(#number) AND #version = :version"),
        names,
        values,
        json!({"U": {"B": OTHER_ACI}, "P": {"S": "+1"}, "V": {"N": "3"}}),
        json!({"U": {"B": OTHER_ACI}, "D": {"B": "e30="}, "P": {"S": "+2"}, "PNI": {"B": ACI}, "C": {"BOOL": true}, "V": {"N": "4"}}),
    );

    // Accounts.UpdateAccountSpec.forAccount with every optional clause, and with removals
    // (joined by "," without a space).
    let names = json!({"#data": "D", "#cds": "C", "#version": "V", "#uak": "UAK", "#usernameHash": "N", "#ul": "UL"});
    let values = json!({":data": {"B": "e30="}, ":cds": {"BOOL": false}, ":version": {"N": "1"}, ":version_increment": {"N": "1"},
        ":uak": {"B": "AQ=="}, ":usernameHash": {"B": "Ag=="}, ":ul": {"B": ACI}});
    check_update(
        "SET #data = :data, #cds = :cds, #uak = :uak, #usernameHash = :usernameHash, #ul = :ul ADD #version :version_increment",
        Some("#version = :version"),
        names,
        values,
        json!({"U": {"B": OTHER_ACI}, "V": {"N": "1"}}),
        json!({"U": {"B": OTHER_ACI}, "V": {"N": "2"}, "D": {"B": "e30="}, "C": {"BOOL": false}, "UAK": {"B": "AQ=="}, "N": {"B": "Ag=="}, "UL": {"B": ACI}}),
    );
    let names = json!({"#data": "D", "#cds": "C", "#version": "V", "#ul": "UL", "#username_hash": "N", "#number": "P"});
    let values = json!({":data": {"B": "e30="}, ":cds": {"BOOL": true}, ":version": {"N": "5"}, ":version_increment": {"N": "1"},
        ":number": {"S": "+22500000000"}, ":val0": {"S": "+2250700000000"}, ":val1": {"S": "+22500000000"}});
    check_update(
        "SET #data = :data, #cds = :cds, #number = :number REMOVE #ul,#username_hash ADD #version :version_increment",
        Some("#version = :version AND #number IN (:val0, :val1)"),
        names,
        values,
        json!({"U": {"B": OTHER_ACI}, "V": {"N": "5"}, "UL": {"B": ACI}, "N": {"B": "AQ=="}, "P": {"S": "+2250700000000"}}),
        json!({"U": {"B": OTHER_ACI}, "V": {"N": "6"}, "D": {"B": "e30="}, "C": {"BOOL": true}, "P": {"S": "+22500000000"}}),
    );
}

#[test]
fn receipts_permits_and_prekeys() {
    // DonationPermits.java.
    check_update(
        "SET #exp = :exp",
        Some("attribute_not_exists(#id)"),
        json!({"#exp": "E", "#id": "I"}),
        json!({":exp": {"N": "100"}}),
        json!({"I": {"B": "AQ=="}}),
        json!({"I": {"B": "AQ=="}, "E": {"N": "100"}}),
    );

    // IssuedReceiptsManager.java: tags are a binary set capped by size.
    let names = json!({"#key": "A", "#tags": "T", "#exp": "E"});
    let values = json!({":tag": {"B": "AQ=="}, ":maxTags": {"N": "2"}, ":exp": {"N": "50"}, ":singletonTag": {"BS": ["AQ=="]}});
    let condition = "attribute_not_exists(#key) OR contains(#tags, :tag) OR size(#tags) < :maxTags";
    check_update(
        "SET #exp = if_not_exists(#exp, :exp) ADD #tags :singletonTag",
        Some(condition),
        names.clone(),
        values.clone(),
        json!({"A": {"B": "AA=="}, "E": {"N": "10"}, "T": {"BS": ["Ag=="]}}),
        json!({"A": {"B": "AA=="}, "E": {"N": "10"}, "T": {"BS": ["AQ==", "Ag=="]}}),
    );
    check_update(
        "SET #exp = if_not_exists(#exp, :exp) ADD #tags :singletonTag",
        Some(condition),
        names.clone(),
        values.clone(),
        json!({"A": {"B": "AA=="}}),
        json!({"A": {"B": "AA=="}, "E": {"N": "50"}, "T": {"BS": ["AQ=="]}}),
    );
    let names = json!({"#key": "A", "#tags": "T"});
    let values = json!({":tag": {"B": "AQ=="}, ":maxTags": {"N": "2"}});
    check_condition(
        condition,
        names,
        values,
        &[
            (json!({}), true),
            (
                json!({"A": {"B": "AA=="}, "T": {"BS": ["AQ==", "Ag==", "Aw=="]}}),
                true,
            ),
            (json!({"A": {"B": "AA=="}, "T": {"BS": ["Ag=="]}}), true),
            (
                json!({"A": {"B": "AA=="}, "T": {"BS": ["Ag==", "Aw=="]}}),
                false,
            ),
        ],
    );

    // PagedSingleUseKEMPreKeyStore.java: claim the next key of a page.
    let names = json!({"#index": "I", "#id": "ID", "#numkeys": "N"});
    let values = json!({":one": {"N": "1"}, ":id": {"B": ACI}});
    check_update(
        "SET #index = #index + :one",
        Some("#id = :id AND #index < #numkeys"),
        names.clone(),
        values.clone(),
        json!({"ID": {"B": ACI}, "I": {"N": "4"}, "N": {"N": "10"}}),
        json!({"ID": {"B": ACI}, "I": {"N": "5"}, "N": {"N": "10"}}),
    );
    check_condition(
        "#id = :id AND #index < #numkeys",
        json!({"#index": "I", "#id": "ID", "#numkeys": "N"}),
        json!({":id": {"B": ACI}}),
        &[
            (
                json!({"ID": {"B": ACI}, "I": {"N": "9"}, "N": {"N": "10"}}),
                true,
            ),
            (
                json!({"ID": {"B": ACI}, "I": {"N": "10"}, "N": {"N": "10"}}),
                false,
            ),
        ],
    );

    // RedeemedReceiptsManager.java.
    let names = json!({"#ttl": "E", "#receipt_expiration": "RE", "#receipt_level": "RL", "#account_uuid": "A", "#redemption_time": "RT", "#serial": "S"});
    let values = json!({":ttl": {"N": "9"}, ":receipt_expiration": {"N": "8"}, ":receipt_level": {"N": "7"}, ":account_uuid": {"B": ACI}, ":redemption_time": {"N": "6"}});
    check_update(
        "SET #ttl = if_not_exists(#ttl, :ttl), #receipt_expiration = if_not_exists(#receipt_expiration, :receipt_expiration), \
        #receipt_level = if_not_exists(#receipt_level, :receipt_level), #account_uuid = if_not_exists(#account_uuid, :account_uuid), \
        #redemption_time = if_not_exists(#redemption_time, :redemption_time)",
        Some(
            "attribute_not_exists(#serial) OR (#account_uuid = :account_uuid AND #receipt_level = :receipt_level)",
        ),
        names,
        values,
        json!({"S": {"B": "AQ=="}, "E": {"N": "1"}}),
        json!({"S": {"B": "AQ=="}, "E": {"N": "1"}, "RE": {"N": "8"}, "RL": {"N": "7"}, "A": {"B": ACI}, "RT": {"N": "6"}}),
    );
    check_condition(
        "attribute_not_exists(#serial) OR (#account_uuid = :account_uuid AND #receipt_level = :receipt_level)",
        json!({"#serial": "S", "#account_uuid": "A", "#receipt_level": "RL"}),
        json!({":account_uuid": {"B": ACI}, ":receipt_level": {"N": "7"}}),
        &[
            (
                json!({"S": {"B": "AQ=="}, "A": {"B": ACI}, "RL": {"N": "7"}}),
                true,
            ),
            (
                json!({"S": {"B": "AQ=="}, "A": {"B": ACI}, "RL": {"N": "8"}}),
                false,
            ),
        ],
    );

    // PhoneNumberRecoveryPasswords.java.
    check_condition(
        "attribute_exists(#pni) AND #salt = :salt AND #hash = :hash",
        json!({"#pni": "P", "#salt": "S", "#hash": "H"}),
        json!({":salt": {"B": "AQ=="}, ":hash": {"B": "Ag=="}}),
        &[
            (
                json!({"P": {"B": ACI}, "S": {"B": "AQ=="}, "H": {"B": "Ag=="}}),
                true,
            ),
            (
                json!({"P": {"B": ACI}, "S": {"B": "AQ=="}, "H": {"B": "Aw=="}}),
                false,
            ),
        ],
    );

    // PushChallengeDynamoDb.java.
    check_condition(
        "attribute_not_exists(#uuid)",
        json!({"#uuid": "U"}),
        Value::Null,
        &[(json!({}), true)],
    );
    check_condition(
        "#challenge = :challenge AND #ttl >= :currentTime",
        json!({"#challenge": "C", "#ttl": "T"}),
        json!({":challenge": {"S": "abc"}, ":currentTime": {"N": "100"}}),
        &[
            (json!({"C": {"S": "abc"}, "T": {"N": "100"}}), true),
            (json!({"C": {"S": "abc"}, "T": {"N": "99"}}), false),
        ],
    );
}

#[test]
fn profiles_and_avatars() {
    // ProfileAvatars.java.
    check_update(
        "SET #ttl = :ttl",
        Some("attribute_exists(#url)"),
        json!({"#ttl": "T", "#url": "U"}),
        json!({":ttl": {"N": "5"}}),
        json!({"U": {"S": "x"}}),
        json!({"U": {"S": "x"}, "T": {"N": "5"}}),
    );

    // Profiles.java: buildUpdateExpression with some attributes set and others removed.
    let names = json!({"#commitment": "C", "#name": "N", "#avatar": "A", "#about": "B", "#aboutEmoji": "E", "#paymentAddress": "P", "#phoneNumberSharing": "S"});
    let values = json!({":commitment": {"B": "AQ=="}, ":name": {"B": "Ag=="}, ":avatar": {"S": "profiles/x"}});
    check_update(
        "SET #commitment = if_not_exists(#commitment, :commitment), #name = :name, #avatar = :avatar REMOVE #about, #aboutEmoji, #paymentAddress, #phoneNumberSharing",
        None,
        names,
        values,
        json!({"C": {"B": "Aw=="}, "B": {"B": "AA=="}, "S": {"B": "AA=="}}),
        json!({"C": {"B": "Aw=="}, "N": {"B": "Ag=="}, "A": {"S": "profiles/x"}}),
    );
    check_update(
        "SET #avatar = :avatar, #commitment = if_not_exists(#commitment, :commitment)",
        None,
        json!({"#avatar": "A", "#commitment": "C"}),
        json!({":avatar": {"S": "a"}, ":commitment": {"B": "AQ=="}}),
        json!({}),
        json!({"A": {"S": "a"}, "C": {"B": "AQ=="}}),
    );

    // ProfilesV2.java: both update shapes and all four condition shapes.
    let names = json!({"#data": "D", "#dataHash": "H", "#commitment": "C", "#paymentAddress": "P", "#paymentAddressHash": "PH"});
    let values = json!({":data": {"B": "AQ=="}, ":dataHash": {"B": "Ag=="}, ":commitment": {"B": "Aw=="}, ":paymentAddress": {"B": "BA=="},
        ":paymentAddressHash": {"B": "BQ=="}, ":expectedDataHash": {"B": "Bg=="}});
    check_update(
        "SET #data = :data, #dataHash = :dataHash, #commitment = if_not_exists(#commitment, :commitment), #paymentAddress = :paymentAddress, #paymentAddressHash = :paymentAddressHash",
        Some(
            "(attribute_not_exists(#commitment) OR #commitment = :commitment) AND #dataHash = :expectedDataHash",
        ),
        names,
        values,
        json!({"H": {"B": "Bg=="}}),
        json!({"D": {"B": "AQ=="}, "H": {"B": "Ag=="}, "C": {"B": "Aw=="}, "P": {"B": "BA=="}, "PH": {"B": "BQ=="}}),
    );
    let names = json!({"#data": "D", "#dataHash": "H", "#commitment": "C", "#paymentAddress": "P", "#paymentAddressHash": "PH"});
    let values = json!({":data": {"B": "AQ=="}, ":dataHash": {"B": "Ag=="}, ":commitment_length": {"N": "1"}});
    check_update(
        "SET #data = :data, #dataHash = :dataHash REMOVE #paymentAddress, #paymentAddressHash",
        Some("size(#commitment) = :commitment_length AND attribute_not_exists(#dataHash)"),
        names,
        values,
        json!({"C": {"B": "Aw=="}, "P": {"B": "BA=="}, "PH": {"B": "BQ=="}}),
        json!({"C": {"B": "Aw=="}, "D": {"B": "AQ=="}, "H": {"B": "Ag=="}}),
    );
    check_condition(
        "(attribute_not_exists(#commitment) OR #commitment = :commitment) AND attribute_not_exists(#dataHash)",
        json!({"#commitment": "C", "#dataHash": "H"}),
        json!({":commitment": {"B": "Aw=="}}),
        &[
            (json!({}), true),
            (json!({"C": {"B": "Aw=="}}), true),
            (json!({"C": {"B": "BA=="}}), false),
            (json!({"C": {"B": "Aw=="}, "H": {"B": "AA=="}}), false),
        ],
    );
    check_condition(
        "size(#commitment) = :commitment_length AND #dataHash = :expectedDataHash",
        json!({"#commitment": "C", "#dataHash": "H"}),
        json!({":commitment_length": {"N": "3"}, ":expectedDataHash": {"B": "Bg=="}}),
        &[
            (json!({"C": {"B": "AQID"}, "H": {"B": "Bg=="}}), true),
            (json!({"C": {"B": "AQI="}, "H": {"B": "Bg=="}}), false),
            (json!({"H": {"B": "Bg=="}}), false),
        ],
    );
}

#[test]
fn subscriptions_and_device_checks() {
    // Subscriptions.java: create.
    let names = json!({"#user": "U", "#password": "P", "#created_at": "C", "#accessed_at": "A"});
    let values =
        json!({":password": {"B": "AQ=="}, ":created_at": {"N": "1"}, ":accessed_at": {"N": "2"}});
    check_update(
        "SET #password = if_not_exists(#password, :password), #created_at = if_not_exists(#created_at, :created_at), #accessed_at = if_not_exists(#accessed_at, :accessed_at)",
        Some("attribute_not_exists(#user) OR #password = :password"),
        names,
        values,
        json!({"U": {"B": ACI}, "P": {"B": "AQ=="}, "C": {"N": "0"}}),
        json!({"U": {"B": ACI}, "P": {"B": "AQ=="}, "C": {"N": "0"}, "A": {"N": "2"}}),
    );
    // Subscriptions.java: setProcessorAndCustomerId.
    check_update(
        "SET #processor_customer_id = :processor_customer_id, #accessed_at = :accessed_at",
        Some("attribute_not_exists(#processor_customer_id)"),
        json!({"#processor_customer_id": "PC", "#accessed_at": "A"}),
        json!({":processor_customer_id": {"B": "AQ=="}, ":accessed_at": {"N": "3"}}),
        json!({"U": {"B": ACI}}),
        json!({"U": {"B": ACI}, "PC": {"B": "AQ=="}, "A": {"N": "3"}}),
    );
    // Subscriptions.java: subscriptionCreated (SET … REMOVE).
    let names = json!({"#processor_customer_id": "PC", "#accessed_at": "A", "#subscription_id": "S", "#subscription_level": "L",
        "#subscription_created_at": "SC", "#subscription_level_changed_at": "LC", "#canceled_at": "X"});
    let values = json!({":processor_customer_id": {"B": "AQ=="}, ":old_processor_customer_id": {"B": "AQ=="}, ":accessed_at": {"N": "4"},
        ":subscription_id": {"S": "sub"}, ":subscription_level": {"N": "500"}, ":subscription_created_at": {"N": "4"}, ":subscription_level_changed_at": {"N": "4"}});
    check_update(
        "SET #processor_customer_id = :processor_customer_id, #accessed_at = :accessed_at, #subscription_id = :subscription_id, \
        #subscription_level = :subscription_level, #subscription_created_at = if_not_exists(#subscription_created_at, :subscription_created_at), \
        #subscription_level_changed_at = :subscription_level_changed_at REMOVE #canceled_at",
        Some(
            "attribute_not_exists(#processor_customer_id) OR #processor_customer_id = :old_processor_customer_id",
        ),
        names,
        values,
        json!({"PC": {"B": "AQ=="}, "X": {"N": "1"}, "SC": {"N": "1"}}),
        json!({"PC": {"B": "AQ=="}, "A": {"N": "4"}, "S": {"S": "sub"}, "L": {"N": "500"}, "SC": {"N": "1"}, "LC": {"N": "4"}}),
    );
    check_update(
        "SET #accessed_at = :accessed_at",
        None,
        json!({"#accessed_at": "A"}),
        json!({":accessed_at": {"N": "9"}}),
        json!({"A": {"N": "1"}}),
        json!({"A": {"N": "9"}}),
    );
    check_update(
        "SET #accessed_at = :accessed_at, #canceled_at = :canceled_at REMOVE #subscription_id",
        None,
        json!({"#accessed_at": "A", "#canceled_at": "X", "#subscription_id": "S"}),
        json!({":accessed_at": {"N": "9"}, ":canceled_at": {"N": "9"}}),
        json!({"S": {"S": "sub"}}),
        json!({"A": {"N": "9"}, "X": {"N": "9"}}),
    );
    let names = json!({"#accessed_at": "A", "#subscription_id": "S", "#subscription_created_at": "SC", "#subscription_level": "L",
        "#subscription_level_changed_at": "LC", "#canceled_at": "X"});
    let values = json!({":accessed_at": {"N": "5"}, ":subscription_id": {"S": "s"}, ":subscription_created_at": {"N": "5"},
        ":subscription_level": {"N": "1"}, ":subscription_level_changed_at": {"N": "5"}});
    check_update(
        "SET #accessed_at = :accessed_at, #subscription_id = :subscription_id, #subscription_created_at = :subscription_created_at, \
        #subscription_level = :subscription_level, #subscription_level_changed_at = :subscription_level_changed_at REMOVE #canceled_at",
        None,
        names,
        values,
        json!({"X": {"N": "1"}}),
        json!({"A": {"N": "5"}, "S": {"S": "s"}, "SC": {"N": "5"}, "L": {"N": "1"}, "LC": {"N": "5"}}),
    );
    let names = json!({"#accessed_at": "A", "#subscription_id": "S", "#subscription_level": "L", "#subscription_level_changed_at": "LC", "#canceled_at": "X"});
    let values = json!({":accessed_at": {"N": "5"}, ":subscription_id": {"S": "s"}, ":subscription_level": {"N": "1"}, ":subscription_level_changed_at": {"N": "5"}});
    check_update(
        "SET #accessed_at = :accessed_at, #subscription_id = :subscription_id, #subscription_level = :subscription_level, \
        #subscription_level_changed_at = :subscription_level_changed_at REMOVE #canceled_at",
        None,
        names,
        values,
        json!({}),
        json!({"A": {"N": "5"}, "S": {"S": "s"}, "L": {"N": "1"}, "LC": {"N": "5"}}),
    );

    // devicecheck/AppleDeviceChecks.java (note the lowercase "or").
    check_condition(
        "attribute_not_exists(#counter) OR #counter <= :counter",
        json!({"#counter": "C"}),
        json!({":counter": {"N": "5"}}),
        &[
            (json!({}), true),
            (json!({"C": {"N": "5"}}), true),
            (json!({"C": {"N": "6"}}), false),
        ],
    );
    check_condition(
        "attribute_not_exists(#pk) or #aci = :aci",
        json!({"#pk": "K", "#aci": "U"}),
        json!({":aci": {"B": ACI}}),
        &[
            (json!({"K": {"B": "AQ=="}, "U": {"B": ACI}}), true),
            (json!({"K": {"B": "AQ=="}, "U": {"B": OTHER_ACI}}), false),
        ],
    );
    check_update(
        "SET #counter = :counter",
        Some("#counter <= :counter"),
        json!({"#counter": "C"}),
        json!({":counter": {"N": "8"}}),
        json!({"C": {"N": "7"}}),
        json!({"C": {"N": "8"}}),
    );
}

#[test]
fn key_conditions() {
    let b = |name: &'static str| KeyAttribute {
        name,
        value_type: ValueType::B,
    };
    let s = |name: &'static str| KeyAttribute {
        name,
        value_type: ValueType::S,
    };
    // Accounts, Profiles, ProfilesV2, PagedSingleUseKEMPreKeyStore, SingleUseECPreKeyStore,
    // MessagesDynamoDb, PhoneNumberIdentifiers, Subscriptions, AppleDeviceChecks.
    for (expression, names, values, partition, sort) in [
        (
            "#uuid = :uuid",
            json!({"#uuid": "U"}),
            json!({":uuid": {"B": ACI}}),
            b("U"),
            None,
        ),
        (
            "#gsiKey = :gsiValue",
            json!({"#gsiKey": "ULH"}),
            json!({":gsiValue": {"B": ACI}}),
            b("ULH"),
            None,
        ),
        (
            "#part = :part",
            json!({"#part": "H"}),
            json!({":part": {"B": ACI}}),
            b("H"),
            Some(b("S")),
        ),
        (
            "#pni = :pni",
            json!({"#pni": "PNI"}),
            json!({":pni": {"B": ACI}}),
            b("PNI"),
            None,
        ),
        (
            "#processor_customer_id = :processor_customer_id",
            json!({"#processor_customer_id": "PC"}),
            json!({":processor_customer_id": {"B": "AQ=="}}),
            b("PC"),
            None,
        ),
        (
            "#aci = :aci",
            json!({"#aci": "U"}),
            json!({":aci": {"B": ACI}}),
            b("U"),
            Some(s("KID")),
        ),
    ] {
        let mut a = attrs(&names, &values);
        let key = a
            .key_condition(expression)
            .unwrap_or_else(|e| panic!("{expression}: {}", e.message));
        a.finish().unwrap();
        let query = key
            .for_schema(partition, sort)
            .unwrap_or_else(|e| panic!("{expression}: {}", e.message));
        assert_eq!(query.sort_key, None, "{expression}");
    }
    // SingleUseECPreKeyStore.java: note the space before the parenthesis.
    let mut a = attrs(
        &json!({"#uuid": "U", "#sort": "DK"}),
        &json!({":uuid": {"B": ACI}, ":sortprefix": {"B": "AAAAAQ=="}}),
    );
    let key = a
        .key_condition("#uuid = :uuid AND begins_with (#sort, :sortprefix)")
        .unwrap();
    a.finish().unwrap();
    let query = key.for_schema(b("U"), Some(b("DK"))).unwrap();
    assert_eq!(query.partition_key, V::B(vec![0; 16]));
    let op = query.sort_key.unwrap();
    assert_eq!(op, SortKeyOp::BeginsWith(V::B(vec![0, 0, 0, 1])));
    assert!(op.matches(&V::B(vec![0, 0, 0, 1, 0, 0, 0, 9])));
    assert!(!op.matches(&V::B(vec![0, 0, 0, 2, 0, 0, 0, 9])));
}

#[test]
fn projections() {
    // Accounts.java, PhoneNumberIdentifiers.java, PagedSingleUseKEMPreKeyStore.java.
    let on =
        json!({"U": {"B": ACI}, "PNI": {"B": OTHER_ACI}, "P": {"S": "+1"}, "D": {"B": "e30="}});
    check_projection(
        "#pni",
        json!({"#pni": "PNI"}),
        on.clone(),
        json!({"PNI": {"B": OTHER_ACI}}),
    );
    check_projection(
        "#uuid",
        json!({"#uuid": "U"}),
        on.clone(),
        json!({"U": {"B": ACI}}),
    );
    check_projection(
        "#number,#pni",
        json!({"#number": "P", "#pni": "PNI"}),
        on.clone(),
        json!({"P": {"S": "+1"}, "PNI": {"B": OTHER_ACI}}),
    );
    check_projection(
        "#phone_number",
        json!({"#phone_number": "P"}),
        on.clone(),
        json!({"P": {"S": "+1"}}),
    );
    let page = json!({"U": {"B": ACI}, "D": {"N": "1"}, "P": {"B": ACI}, "T": {"N": "100"}, "I": {"N": "3"}, "X": {"B": "AQ=="}});
    check_projection(
        "#total, #index",
        json!({"#total": "T", "#index": "I"}),
        page.clone(),
        json!({"T": {"N": "100"}, "I": {"N": "3"}}),
    );
    check_projection(
        "#uuid,#deviceid,#pageid",
        json!({"#uuid": "U", "#deviceid": "D", "#pageid": "P"}),
        page,
        json!({"U": {"B": ACI}, "D": {"N": "1"}, "P": {"B": ACI}}),
    );
    // Bare attribute names: Accounts (U, UsernameTable R), Profiles (V, A), ProfilesV2 (V),
    // SingleUseECPreKeyStore (DK, R), OneTimeDonationsManager (A).
    let profile = json!({"U": {"B": ACI}, "V": {"S": "v1"}, "A": {"S": "avatar"}, "R": {"N": "3"}, "DK": {"B": "AQ=="}});
    check_projection("U", Value::Null, profile.clone(), json!({"U": {"B": ACI}}));
    check_projection(
        "V, A",
        Value::Null,
        profile.clone(),
        json!({"V": {"S": "v1"}, "A": {"S": "avatar"}}),
    );
    check_projection("V", Value::Null, profile.clone(), json!({"V": {"S": "v1"}}));
    check_projection(
        "DK",
        Value::Null,
        profile.clone(),
        json!({"DK": {"B": "AQ=="}}),
    );
    check_projection("R", Value::Null, profile.clone(), json!({"R": {"N": "3"}}));
    check_projection("A", Value::Null, profile, json!({"A": {"S": "avatar"}}));
    check_projection(
        "#user",
        json!({"#user": "U"}),
        json!({"U": {"B": ACI}, "P": {"B": "AQ=="}}),
        json!({"U": {"B": ACI}}),
    );
    check_projection(
        "#kid",
        json!({"#kid": "KID"}),
        json!({"U": {"B": ACI}, "KID": {"B": "AQ=="}}),
        json!({"KID": {"B": "AQ=="}}),
    );
}

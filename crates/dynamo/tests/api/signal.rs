//! Replays of Signal-Server's username reservation and confirmation (Accounts.java).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType as T, TransactWriteItem, Update};

use crate::common::{Av, b, client, create_table, n, s, table_name};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// UpdateAccountSpec.forAccount: the optimistic-locking account update.
fn account_update(table: &str, aci: &[u8], version: i64, data: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .key("U", b(aci))
                .update_expression("SET #data = :data, #cds = :cds ADD #version :version_increment")
                .condition_expression("attribute_exists(#number) AND #version = :version")
                .expression_attribute_names("#data", "D")
                .expression_attribute_names("#cds", "C")
                .expression_attribute_names("#number", "P")
                .expression_attribute_names("#version", "V")
                .expression_attribute_values(":data", b(data.as_bytes()))
                .expression_attribute_values(":cds", Av::Bool(true))
                .expression_attribute_values(":version", n(&version.to_string()))
                .expression_attribute_values(":version_increment", n("1"))
                .build()
                .unwrap(),
        )
        .build()
}

fn reserve(usernames: &str, aci: &[u8], hash: &[u8], expiration: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(usernames)
                .item("U", b(aci))
                .item("N", b(hash))
                .item("TTL", n(&expiration.to_string()))
                .item("F", Av::Bool(false))
                .item("R", Av::Bool(false))
                .condition_expression(
                    "attribute_not_exists(#username_hash) OR #ttl < :now OR (#aci = :aci AND #confirmed = :false AND #ttl <= :expirationTime)",
                )
                .expression_attribute_names("#username_hash", "N")
                .expression_attribute_names("#ttl", "TTL")
                .expression_attribute_names("#aci", "U")
                .expression_attribute_names("#confirmed", "F")
                .expression_attribute_values(":now", n(&now().to_string()))
                .expression_attribute_values(":aci", b(aci))
                .expression_attribute_values(":false", Av::Bool(false))
                .expression_attribute_values(":expirationTime", n(&expiration.to_string()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .unwrap(),
        )
        .build()
}

fn confirm(usernames: &str, aci: &[u8], hash: &[u8]) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(usernames)
                .item("U", b(aci))
                .item("N", b(hash))
                .item("F", Av::Bool(true))
                .condition_expression("attribute_not_exists(#username_hash) OR #ttl < :now OR (#aci = :aci AND #confirmed = :confirmed)")
                .expression_attribute_names("#username_hash", "N")
                .expression_attribute_names("#ttl", "TTL")
                .expression_attribute_names("#aci", "U")
                .expression_attribute_names("#confirmed", "F")
                .expression_attribute_values(":now", n(&now().to_string()))
                .expression_attribute_values(":aci", b(aci))
                .expression_attribute_values(":confirmed", Av::Bool(false))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .unwrap(),
        )
        .build()
}

fn cancellation_codes(error: TransactWriteItemsError) -> Vec<(String, Option<Vec<u8>>)> {
    let TransactWriteItemsError::TransactionCanceledException(canceled) = error else { panic!("{error:?}") };
    canceled
        .cancellation_reasons()
        .iter()
        .map(|r| (r.code().unwrap().to_owned(), r.item().and_then(|i| i.get("U")).map(|u| u.as_b().unwrap().as_ref().to_vec())))
        .collect()
}

#[tokio::test]
async fn username_reservation_and_confirmation() {
    let client = client();
    let accounts = table_name("accounts");
    let usernames = table_name("usernames");
    create_table(&client, &accounts, ("U", T::B), None).await;
    create_table(&client, &usernames, ("N", T::B), None).await;
    for aci in [b"aci-a", b"aci-b"] {
        client
            .put_item()
            .table_name(&accounts)
            .item("U", b(aci))
            .item("P", s("+1555"))
            .item("V", n("0"))
            .send()
            .await
            .unwrap();
    }
    let hash = b"username-hash-1";
    let expiration = now() + 300;

    client
        .transact_write_items()
        .transact_items(reserve(&usernames, b"aci-a", hash, expiration))
        .transact_items(account_update(&accounts, b"aci-a", 0, "reserved"))
        .send()
        .await
        .expect("A reserves the username");

    let error = client
        .transact_write_items()
        .transact_items(reserve(&usernames, b"aci-b", hash, expiration))
        .transact_items(account_update(&accounts, b"aci-b", 0, "reserved"))
        .send()
        .await
        .expect_err("B cannot take A's reservation")
        .into_service_error();
    let codes = cancellation_codes(error);
    assert_eq!(codes[0], ("ConditionalCheckFailed".to_owned(), Some(b"aci-a".to_vec())));
    assert_eq!(codes[1].0, "None");

    client
        .transact_write_items()
        .transact_items(confirm(&usernames, b"aci-a", hash))
        .transact_items(account_update(&accounts, b"aci-a", 1, "confirmed"))
        .send()
        .await
        .expect("A confirms");
    let owner = client.get_item().table_name(&usernames).key("N", b(hash)).consistent_read(true).send().await.unwrap();
    let owner = owner.item().unwrap();
    assert_eq!(owner["F"], Av::Bool(true));
    assert!(!owner.contains_key("TTL"), "a confirmed username has no TTL");
    let account = client.get_item().table_name(&accounts).key("U", b(b"aci-a")).send().await.unwrap();
    assert_eq!(account.item().unwrap()["V"], n("2"));

    let error = client
        .transact_write_items()
        .transact_items(confirm(&usernames, b"aci-b", hash))
        .transact_items(account_update(&accounts, b"aci-b", 0, "confirmed"))
        .send()
        .await
        .expect_err("B cannot confirm A's username")
        .into_service_error();
    assert_eq!(cancellation_codes(error)[0].0, "ConditionalCheckFailed");

    let error = client
        .transact_write_items()
        .transact_items(account_update(&accounts, b"aci-a", 1, "stale"))
        .send()
        .await
        .expect_err("stale version")
        .into_service_error();
    assert_eq!(cancellation_codes(error)[0].0, "ConditionalCheckFailed");
}

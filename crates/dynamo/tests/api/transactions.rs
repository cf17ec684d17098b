use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Get, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType as T, TransactGetItem,
    TransactWriteItem, Update,
};

use crate::common::{Av, HeldItemLock, b, client, create_table, n, s, table_name};

fn constraint_put(table: &str, key_name: &str, key: Av, uuid: &Av) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .item(key_name, key)
                .item("U", uuid.clone())
                .condition_expression("attribute_not_exists(#key) OR #uuid = :uuid")
                .expression_attribute_names("#key", key_name)
                .expression_attribute_names("#uuid", "U")
                .expression_attribute_values(":uuid", uuid.clone())
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .unwrap(),
        )
        .build()
}

/// Replays Accounts.create: phone number and PNI constraint puts, the account put and the
/// removal of a deleted-account record, in one transaction.
#[tokio::test]
async fn signal_account_creation_transaction() {
    let client = client();
    let accounts = table_name("accounts");
    let numbers = table_name("numbers");
    let pnis = table_name("pni");
    let deleted = table_name("deleted_accounts");
    create_table(&client, &accounts, ("U", T::B), None).await;
    create_table(&client, &numbers, ("P", T::S), None).await;
    create_table(&client, &pnis, ("PNI", T::B), None).await;
    create_table(&client, &deleted, ("P", T::S), None).await;
    client.put_item().table_name(&deleted).item("P", s("pni-1")).item("U", b(b"old-aci")).send().await.unwrap();

    let create = |aci: &'static [u8]| {
        let uuid = b(aci);
        client
            .transact_write_items()
            .transact_items(constraint_put(&numbers, "P", s("+15550001"), &uuid))
            .transact_items(constraint_put(&pnis, "PNI", b(b"pni-1"), &uuid))
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&accounts)
                            .item("U", uuid.clone())
                            .item("P", s("+15550001"))
                            .item("PNI", b(b"pni-1"))
                            .item("D", b(b"{\"json\":true}"))
                            .item("V", n("0"))
                            .item("C", Av::Bool(true))
                            .condition_expression("attribute_not_exists(#number) OR #number = :number")
                            .expression_attribute_names("#number", "P")
                            .expression_attribute_values(":number", s("+15550001"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(Delete::builder().table_name(&deleted).key("P", s("pni-1")).build().unwrap())
                    .build(),
            )
            .send()
    };
    create(b"aci-1").await.expect("first account creation");
    let account = client.get_item().table_name(&accounts).key("U", b(b"aci-1")).send().await.unwrap();
    assert_eq!(account.item().unwrap()["V"], n("0"));
    assert!(client.get_item().table_name(&deleted).key("P", s("pni-1")).send().await.unwrap().item().is_none());

    let error = create(b"aci-2").await.expect_err("number already taken").into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(canceled) = error else {
        panic!("expected TransactionCanceledException, got {error:?}");
    };
    let reasons = canceled.cancellation_reasons();
    assert_eq!(reasons.len(), 4);
    assert_eq!(reasons[0].code(), Some("ConditionalCheckFailed"));
    assert_eq!(reasons[0].item().unwrap()["U"], b(b"aci-1"), "ALL_OLD returns the owner");
    assert_eq!(reasons[2].code(), Some("None"));
    assert_eq!(reasons[3].code(), Some("None"));
    assert!(
        client.get_item().table_name(&accounts).key("U", b(b"aci-2")).send().await.unwrap().item().is_none(),
        "no part of a cancelled transaction is applied"
    );
}

fn add_one(table: &str, id: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .key("id", s(id))
                .update_expression("ADD c :one")
                .expression_attribute_values(":one", n("1"))
                .build()
                .unwrap(),
        )
        .build()
}

async fn counter(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> i64 {
    let item = client.get_item().table_name(table).key("id", s(id)).send().await.unwrap();
    item.item().and_then(|i| i.get("c")).map_or(0, |c| c.as_n().unwrap().parse().unwrap())
}

#[tokio::test]
async fn condition_check_cancels_everything_and_tokens_are_idempotent() {
    let client = client();
    let table = table_name("tx");
    create_table(&client, &table, ("id", T::S), None).await;
    let check_missing = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(&table)
                .key("id", s("guard"))
                .condition_expression("attribute_exists(id)")
                .build()
                .unwrap(),
        )
        .build();
    let error = client
        .transact_write_items()
        .transact_items(add_one(&table, "a"))
        .transact_items(check_missing)
        .send()
        .await
        .expect_err("guard item missing")
        .into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(canceled) = error else { panic!("{error:?}") };
    let codes: Vec<_> = canceled.cancellation_reasons().iter().map(|r| r.code().unwrap().to_owned()).collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed"]);
    assert_eq!(counter(&client, &table, "a").await, 0);

    for _ in 0..2 {
        client
            .transact_write_items()
            .client_request_token("token-1")
            .transact_items(add_one(&table, "a"))
            .transact_items(add_one(&table, "b"))
            .send()
            .await
            .expect("idempotent transaction");
    }
    assert_eq!(counter(&client, &table, "a").await, 1, "a repeated token applies once");
    let error = client
        .transact_write_items()
        .client_request_token("token-1")
        .transact_items(add_one(&table, "c"))
        .send()
        .await
        .expect_err("same token, other request")
        .into_service_error();
    assert!(error.is_idempotent_parameter_mismatch_exception(), "{error:?}");

    let error = client
        .transact_write_items()
        .transact_items(add_one(&table, "a"))
        .transact_items(add_one(&table, "a"))
        .send()
        .await
        .expect_err("two operations on one item")
        .into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
}

/// An item locked by an in-flight transaction (held here through PostgreSQL directly, as a
/// concurrent sweetlies-dynamo transaction would) makes TransactWriteItems fail with
/// TransactionConflict and leaves every other item untouched.
#[tokio::test]
async fn conflicting_transaction_is_cancelled_with_transaction_conflict() {
    let client = client();
    let table = table_name("conflict");
    create_table(&client, &table, ("id", T::S), None).await;
    let held = HeldItemLock::take(&table, "busy").await;
    let error = client
        .transact_write_items()
        .transact_items(add_one(&table, "free"))
        .transact_items(add_one(&table, "busy"))
        .send()
        .await
        .expect_err("conflict")
        .into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(canceled) = error else { panic!("{error:?}") };
    let codes: Vec<_> = canceled.cancellation_reasons().iter().map(|r| r.code().unwrap().to_owned()).collect();
    assert_eq!(codes, ["None", "TransactionConflict"]);
    assert_eq!(counter(&client, &table, "free").await, 0, "no partial write");
    held.release().await;
    client
        .transact_write_items()
        .transact_items(add_one(&table, "free"))
        .transact_items(add_one(&table, "busy"))
        .send()
        .await
        .expect("succeeds once the lock is gone");
}

/// An unconditional PutItem is written without reading the item first, but still waits for
/// the item's lock: it never slips in between a transaction's condition check and its write.
#[tokio::test]
async fn unconditional_put_waits_for_the_items_lock() {
    let client = client();
    let table = table_name("blind");
    create_table(&client, &table, ("id", T::S), None).await;
    let held = HeldItemLock::take(&table, "held").await;
    let put = tokio::spawn({
        let (client, table) = (client.clone(), table.clone());
        async move { client.put_item().table_name(&table).item("id", s("held")).item("c", n("7")).send().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!put.is_finished(), "PutItem must wait while the item is locked");
    assert_eq!(counter(&client, &table, "held").await, 0, "nothing written while locked");
    held.release().await;
    put.await.unwrap().expect("PutItem succeeds once the lock is released");
    assert_eq!(counter(&client, &table, "held").await, 7);
}

/// Many concurrent transactions over the same two items: each either commits both increments
/// or fails with TransactionConflict; the counters always agree with the number of commits.
#[tokio::test]
async fn concurrent_transactions_are_serializable() {
    let client = client();
    let table = table_name("serial");
    create_table(&client, &table, ("id", T::S), None).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let client = client.clone();
        let table = table.clone();
        tasks.push(tokio::spawn(async move {
            let mut committed = 0;
            let mut conflicts = 0;
            for _ in 0..5 {
                match client
                    .transact_write_items()
                    .transact_items(add_one(&table, "x"))
                    .transact_items(add_one(&table, "y"))
                    .send()
                    .await
                {
                    Ok(_) => committed += 1,
                    Err(e) => match e.into_service_error() {
                        TransactWriteItemsError::TransactionCanceledException(c) => {
                            assert!(c.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict")));
                            conflicts += 1;
                        }
                        other => panic!("unexpected error {other:?}"),
                    },
                }
            }
            (committed, conflicts)
        }));
    }
    let mut committed = 0;
    for task in tasks {
        committed += task.await.unwrap().0;
    }
    assert!(committed > 0);
    assert_eq!(counter(&client, &table, "x").await, committed);
    assert_eq!(counter(&client, &table, "y").await, committed);
}

#[tokio::test]
async fn transact_get_items_reads_several_tables() {
    let client = client();
    let first = table_name("tget");
    let second = table_name("tget");
    create_table(&client, &first, ("id", T::S), None).await;
    create_table(&client, &second, ("pk", T::N), Some(("sk", T::S))).await;
    client.put_item().table_name(&first).item("id", s("a")).item("v", n("1")).item("w", n("2")).send().await.unwrap();
    client.put_item().table_name(&second).item("pk", n("7")).item("sk", s("x")).send().await.unwrap();
    let response = client
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(Get::builder().table_name(&first).key("id", s("a")).projection_expression("v").build().unwrap())
                .build(),
        )
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name(&second)
                        .set_key(Some(HashMap::from([("pk".into(), n("7")), ("sk".into(), s("x"))])))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactGetItem::builder()
                .get(Get::builder().table_name(&first).key("id", s("missing")).build().unwrap())
                .build(),
        )
        .send()
        .await
        .expect("TransactGetItems");
    let responses = response.responses();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0].item().unwrap().len(), 1);
    assert_eq!(responses[1].item().unwrap()["sk"], s("x"));
    assert!(responses[2].item().is_none());
}

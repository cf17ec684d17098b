use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType as T};

use crate::common::{Av, b, client, create_table, n, s, table_name};

#[tokio::test]
async fn put_get_delete_round_trip_all_types() {
    let client = client();
    let table = table_name("items");
    create_table(&client, &table, ("id", T::S), None).await;
    let item: HashMap<String, Av> = [
        ("id".to_string(), s("a")),
        ("num".to_string(), n("12.50")),
        ("bin".to_string(), b(&[0, 1, 2, 255])),
        ("flag".to_string(), Av::Bool(true)),
        ("nothing".to_string(), Av::Null(true)),
        ("list".to_string(), Av::L(vec![s("x"), n("1")])),
        ("map".to_string(), Av::M([("detail".to_string(), s("v"))].into())),
        ("ss".to_string(), Av::Ss(vec!["b".into(), "a".into()])),
        ("ns".to_string(), Av::Ns(vec!["2".into(), "1".into()])),
    ]
    .into();
    client.put_item().table_name(&table).set_item(Some(item)).send().await.expect("PutItem");
    let got = client.get_item().table_name(&table).key("id", s("a")).send().await.expect("GetItem");
    let got = got.item().expect("item exists");
    assert_eq!(got["num"], n("12.5"), "numbers come back normalised");
    assert_eq!(got["bin"], b(&[0, 1, 2, 255]));
    assert_eq!(got["map"], Av::M([("detail".to_string(), s("v"))].into()));
    let mut ss = got["ss"].as_ss().unwrap().clone();
    ss.sort();
    assert_eq!(ss, vec!["a".to_string(), "b".to_string()]);

    let projected = client
        .get_item()
        .table_name(&table)
        .key("id", s("a"))
        .projection_expression("#m.detail, flag")
        .expression_attribute_names("#m", "map")
        .send()
        .await
        .unwrap();
    let projected = projected.item().unwrap();
    assert_eq!(projected.len(), 2);
    assert_eq!(projected["flag"], Av::Bool(true));

    let deleted = client
        .delete_item()
        .table_name(&table)
        .key("id", s("a"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().unwrap()["flag"], Av::Bool(true));
    let missing = client.get_item().table_name(&table).key("id", s("a")).send().await.unwrap();
    assert!(missing.item().is_none());
}

#[tokio::test]
async fn conditional_put_and_delete() {
    let client = client();
    let table = table_name("cond");
    create_table(&client, &table, ("pk", T::S), Some(("sk", T::N))).await;
    let put = |v: &str| {
        client
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", n("1"))
            .item("v", s(v))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    };
    put("first").await.expect("first put succeeds");
    let error = put("second").await.expect_err("second put fails its condition").into_service_error();
    assert!(error.is_conditional_check_failed_exception(), "{error:?}");

    let error = client
        .delete_item()
        .table_name(&table)
        .key("pk", s("p"))
        .key("sk", n("1"))
        .condition_expression("v = :expected")
        .expression_attribute_values(":expected", s("other"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .expect_err("condition fails")
        .into_service_error();
    let aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.item().unwrap()["v"], s("first"), "old item returned on failure");

    client
        .delete_item()
        .table_name(&table)
        .key("pk", s("p"))
        .key("sk", n("1"))
        .condition_expression("v = :expected")
        .expression_attribute_values(":expected", s("first"))
        .send()
        .await
        .expect("condition holds");
}

#[tokio::test]
async fn update_item_expressions_and_return_values() {
    let client = client();
    let table = table_name("upd");
    create_table(&client, &table, ("id", T::B), None).await;
    let key = b(b"\x01key");
    let created = client
        .update_item()
        .table_name(&table)
        .key("id", key.clone())
        .update_expression("SET #c = if_not_exists(#c, :zero) + :one, tags = :tags ADD hits :one")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":zero", n("0"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":tags", Av::L(vec![s("a")]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .expect("UpdateItem creates the item");
    let attributes = created.attributes().unwrap();
    assert_eq!(attributes["count"], n("1"));
    assert_eq!(attributes["hits"], n("1"));
    assert_eq!(attributes["id"], key);

    let updated = client
        .update_item()
        .table_name(&table)
        .key("id", key.clone())
        .update_expression("SET tags = list_append(tags, :more) REMOVE hits")
        .condition_expression("#c = :one AND size(tags) < :two")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":two", n("2"))
        .expression_attribute_values(":more", Av::L(vec![s("b")]))
        .return_values(ReturnValue::UpdatedOld)
        .send()
        .await
        .expect("conditional update");
    let old = updated.attributes().unwrap();
    assert_eq!(old.len(), 2, "UPDATED_OLD has exactly the touched attributes: {old:?}");
    assert_eq!(old["hits"], n("1"));

    let error = client
        .update_item()
        .table_name(&table)
        .key("id", key.clone())
        .update_expression("SET id = :v")
        .expression_attribute_values(":v", b(b"x"))
        .send()
        .await
        .expect_err("key attributes cannot be updated")
        .into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
    assert!(error.meta().message().unwrap().contains("part of the key"), "{error:?}");

    let error = client
        .update_item()
        .table_name(&table)
        .key("id", key)
        .update_expression("SET a = :v")
        .expression_attribute_values(":v", s("1"))
        .expression_attribute_values(":unused", s("2"))
        .send()
        .await
        .expect_err("unused value")
        .into_service_error();
    assert!(error.meta().message().unwrap().contains("unused in expressions"), "{error:?}");
}

#[tokio::test]
async fn size_and_key_validation() {
    let client = client();
    let table = table_name("valid");
    create_table(&client, &table, ("id", T::S), None).await;
    let big = "x".repeat(400 * 1024);
    let error = client
        .put_item()
        .table_name(&table)
        .item("id", s("big"))
        .item("payload", s(&big))
        .send()
        .await
        .expect_err("item over 400 KB")
        .into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
    assert_eq!(error.meta().message(), Some("Item size has exceeded the maximum allowed size"));

    let error = client
        .put_item()
        .table_name(&table)
        .item("id", n("1"))
        .send()
        .await
        .expect_err("wrong key type")
        .into_service_error();
    assert!(error.meta().message().unwrap().contains("Type mismatch for key id"), "{error:?}");

    let error = client
        .get_item()
        .table_name(&table)
        .key("other", s("1"))
        .send()
        .await
        .expect_err("wrong key attribute")
        .into_service_error();
    assert_eq!(error.meta().message(), Some("The provided key element does not match the schema"));

    let error = client
        .get_item()
        .table_name("no_such_table")
        .key("id", s("1"))
        .send()
        .await
        .expect_err("missing table")
        .into_service_error();
    assert!(error.is_resource_not_found_exception());
}

/// Condition features Signal-Server's stores use: IN, contains, size, comparisons between two
/// attributes, attribute_exists, and DELETE from a set.
#[tokio::test]
async fn signal_condition_features() {
    let client = client();
    let table = table_name("features");
    create_table(&client, &table, ("id", T::S), None).await;
    client
        .put_item()
        .table_name(&table)
        .item("id", s("k"))
        .item("phone", s("+1555"))
        .item("tags", Av::Ss(vec!["a".into(), "b".into()]))
        .item("idx", n("2"))
        .item("numkeys", n("5"))
        .send()
        .await
        .unwrap();
    let update = |condition: &'static str, values: Vec<(&'static str, Av)>| {
        let mut request = client
            .update_item()
            .table_name(&table)
            .key("id", s("k"))
            .update_expression("ADD #count :one")
            .condition_expression(condition)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n("1"))
            .return_values(ReturnValue::UpdatedNew);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        request.send()
    };
    update("phone IN (:a, :b)", vec![(":a", s("+1000")), (":b", s("+1555"))])
        .await
        .expect("IN")
        .attributes()
        .map(|a| assert_eq!(a["count"], n("1")))
        .unwrap();
    update("contains(tags, :tag) AND size(tags) < :max", vec![(":tag", s("b")), (":max", n("3"))]).await.expect("contains/size");
    update("idx < numkeys AND attribute_exists(tags)", vec![]).await.expect("attribute comparison");
    let error = update("phone IN (:a)", vec![(":a", s("+1000"))]).await.expect_err("not in list").into_service_error();
    assert!(error.is_conditional_check_failed_exception());
    let removed = client
        .update_item()
        .table_name(&table)
        .key("id", s("k"))
        .update_expression("DELETE tags :gone")
        .expression_attribute_values(":gone", Av::Ss(vec!["a".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let attributes = removed.attributes().unwrap();
    assert_eq!(attributes["tags"], Av::Ss(vec!["b".into()]));
    assert_eq!(attributes["count"], n("3"));
}

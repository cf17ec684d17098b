use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    DeleteRequest, KeysAndAttributes, PutRequest, ScalarAttributeType as T, TimeToLiveSpecification, WriteRequest,
};

use crate::common::{HeldItemLock, client, create_table, n, s, table_name};

fn put(id: &str) -> WriteRequest {
    WriteRequest::builder()
        .put_request(PutRequest::builder().item("id", s(id)).item("v", n("1")).build().unwrap())
        .build()
}

#[tokio::test]
async fn batch_write_and_get_across_tables() {
    let client = client();
    let first = table_name("batch");
    let second = table_name("batch");
    create_table(&client, &first, ("id", T::S), None).await;
    create_table(&client, &second, ("id", T::S), None).await;
    client.put_item().table_name(&second).item("id", s("old")).send().await.unwrap();
    let written = client
        .batch_write_item()
        .request_items(&first, (0..20).map(|i| put(&format!("k{i}"))).collect())
        .request_items(
            &second,
            vec![
                put("new"),
                WriteRequest::builder().delete_request(DeleteRequest::builder().key("id", s("old")).build().unwrap()).build(),
            ],
        )
        .send()
        .await
        .expect("BatchWriteItem");
    assert!(written.unprocessed_items().is_none_or(HashMap::is_empty));

    let keys = |ids: &[&str]| {
        let mut builder = KeysAndAttributes::builder();
        for id in ids {
            builder = builder.keys(HashMap::from([("id".to_string(), s(id))]));
        }
        builder
    };
    let got = client
        .batch_get_item()
        .request_items(&first, keys(&["k0", "k19", "missing"]).projection_expression("id").build().unwrap())
        .request_items(&second, keys(&["new", "old"]).build().unwrap())
        .send()
        .await
        .expect("BatchGetItem");
    let responses = got.responses().unwrap();
    let mut firsts: Vec<_> = responses[&first].iter().map(|i| i["id"].as_s().unwrap().clone()).collect();
    firsts.sort();
    assert_eq!(firsts, ["k0", "k19"]);
    assert!(responses[&first].iter().all(|i| i.len() == 1));
    assert_eq!(responses[&second].len(), 1);

    let error = client
        .batch_write_item()
        .request_items(&first, (0..26).map(|i| put(&format!("x{i}"))).collect())
        .send()
        .await
        .expect_err("more than 25 writes")
        .into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
    let error = client
        .batch_write_item()
        .request_items(&first, vec![put("same"), put("same")])
        .send()
        .await
        .expect_err("duplicate keys")
        .into_service_error();
    assert_eq!(error.meta().message(), Some("Provided list of item keys contains duplicates"));
}

/// A write whose item is locked by a concurrent writer comes back in UnprocessedItems; the
/// others are applied.
#[tokio::test]
async fn busy_items_come_back_unprocessed() {
    let client = client();
    let table = table_name("batch_busy");
    create_table(&client, &table, ("id", T::S), None).await;
    let held = HeldItemLock::take(&table, "busy").await;
    let response = client
        .batch_write_item()
        .request_items(&table, vec![put("free"), put("busy")])
        .send()
        .await
        .unwrap();
    let unprocessed = response.unprocessed_items().unwrap();
    assert_eq!(unprocessed[&table].len(), 1);
    assert_eq!(unprocessed[&table][0].put_request().unwrap().item()["id"], s("busy"));
    held.release().await;
    let retried = client.batch_write_item().set_request_items(Some(unprocessed.clone())).send().await.unwrap();
    assert!(retried.unprocessed_items().is_none_or(HashMap::is_empty));
    for id in ["free", "busy"] {
        assert!(client.get_item().table_name(&table).key("id", s(id)).send().await.unwrap().item().is_some());
    }
}

/// TTL expiry by the background sweep (every second in tests), including items written
/// before TTL was enabled.
#[tokio::test]
async fn expired_items_are_swept() {
    let client = client();
    let table = table_name("ttl");
    create_table(&client, &table, ("id", T::S), None).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    client.put_item().table_name(&table).item("id", s("before-enable")).item("E", n(&(now - 10).to_string())).send().await.unwrap();
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name("E").enabled(true).build().unwrap())
        .send()
        .await
        .unwrap();
    client.put_item().table_name(&table).item("id", s("expired")).item("E", n(&(now - 1).to_string())).send().await.unwrap();
    client.put_item().table_name(&table).item("id", s("alive")).item("E", n(&(now + 3600).to_string())).send().await.unwrap();
    client.put_item().table_name(&table).item("id", s("no-ttl")).item("E", s("not a number")).send().await.unwrap();
    let mut remaining = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let scan = client.scan().table_name(&table).consistent_read(true).send().await.unwrap();
        remaining = scan.items().iter().map(|i| i["id"].as_s().unwrap().clone()).collect::<Vec<_>>();
        remaining.sort();
        if remaining.len() == 2 {
            break;
        }
    }
    assert_eq!(remaining, ["alive", "no-ttl"]);
}

use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::common::{all_attributes_lsi, attr, client, create_table, key, keys_only_gsi, table_name};

#[tokio::test]
async fn create_describe_list_delete_with_gsi_and_lsi() {
    let client = client();
    let name = table_name("tables");
    let created = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk", ScalarAttributeType::B))
        .attribute_definitions(attr("sk", ScalarAttributeType::N))
        .attribute_definitions(attr("email", ScalarAttributeType::S))
        .attribute_definitions(attr("rank", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(keys_only_gsi("by_email", "email"))
        .local_secondary_indexes(all_attributes_lsi("by_rank", "pk", "rank"))
        .send()
        .await
        .expect("CreateTable");
    let description = created.table_description().unwrap();
    assert_eq!(description.table_name(), Some(name.as_str()));
    assert_eq!(description.global_secondary_indexes().len(), 1);

    let described = client.describe_table().table_name(&name).send().await.expect("DescribeTable");
    let table = described.table().unwrap();
    assert_eq!(table.key_schema().len(), 2);
    assert_eq!(table.local_secondary_indexes()[0].index_name(), Some("by_rank"));
    assert_eq!(table.table_status().unwrap().as_str(), "ACTIVE");

    let again = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .send()
        .await
        .expect_err("duplicate CreateTable");
    assert!(again.into_service_error().is_resource_in_use_exception());

    let listed = client.list_tables().send().await.expect("ListTables");
    assert!(listed.table_names().contains(&name));

    client.delete_table().table_name(&name).send().await.expect("DeleteTable");
    let gone = client.describe_table().table_name(&name).send().await.expect_err("deleted").into_service_error();
    assert!(gone.is_resource_not_found_exception());
    assert_eq!(gone.meta().message(), Some(format!("Requested resource not found: Table: {name} not found").as_str()));
}

#[tokio::test]
async fn invalid_schemas_are_rejected_with_validation_errors() {
    let client = client();
    let error = client
        .create_table()
        .table_name(table_name("bad"))
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .attribute_definitions(attr("unused", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .send()
        .await
        .expect_err("unused attribute definition");
    let error = error.into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
    assert!(error.meta().message().unwrap().contains("AttributeDefinitions"), "{error:?}");
}

#[tokio::test]
async fn time_to_live_and_update_table() {
    let client = client();
    let name = table_name("ttl_meta");
    create_table(&client, &name, ("pk", ScalarAttributeType::S), None).await;
    let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().unwrap().time_to_live_status(), Some(&TimeToLiveStatus::Disabled));
    client
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name("expires").enabled(true).build().unwrap())
        .send()
        .await
        .unwrap();
    let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
    let description = ttl.time_to_live_description().unwrap();
    assert_eq!(description.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(description.attribute_name(), Some("expires"));

    let updated = client
        .update_table()
        .table_name(&name)
        .attribute_definitions(attr("email", ScalarAttributeType::S))
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by_email")
                        .key_schema(key("email", KeyType::Hash))
                        .projection(Projection::builder().projection_type(ProjectionType::All).build())
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateTable adds a GSI");
    assert_eq!(updated.table_description().unwrap().global_secondary_indexes().len(), 1);
}

#[tokio::test]
async fn list_tables_pages_in_name_order() {
    let client = client();
    let names: Vec<String> = (0..3).map(|_| table_name("Listed")).collect();
    for name in &names {
        create_table(&client, name, ("pk", ScalarAttributeType::S), None).await;
    }
    let mut listed = Vec::new();
    let mut start = None;
    loop {
        let page = client.list_tables().limit(2).set_exclusive_start_table_name(start.take()).send().await.unwrap();
        assert!(page.table_names().len() <= 2);
        listed.extend(page.table_names().iter().cloned());
        match page.last_evaluated_table_name() {
            Some(last) => start = Some(last.to_owned()),
            None => break,
        }
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "byte order, each once");
    for name in &names {
        assert!(listed.contains(name));
    }
}

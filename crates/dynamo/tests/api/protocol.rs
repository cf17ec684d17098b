//! The wire protocol itself: signatures, malformed bodies, unknown operations, response headers.

use crate::common::{ACCESS_KEY_ID, client_with, shared};

#[tokio::test]
async fn wrong_secret_gets_invalid_signature() {
    let client = client_with(&shared().endpoint, ACCESS_KEY_ID, "not-the-secret");
    let error = client.list_tables().send().await.expect_err("bad signature");
    let error = error.into_service_error();
    assert_eq!(error.meta().code(), Some("InvalidSignatureException"), "{error:?}");
}

#[tokio::test]
async fn unknown_access_key_gets_unrecognized_client() {
    let client = client_with(&shared().endpoint, "AKIDUNKNOWN", "whatever");
    let error = client.list_tables().send().await.expect_err("unknown key");
    let error = error.into_service_error();
    assert_eq!(error.meta().code(), Some("UnrecognizedClientException"), "{error:?}");
}

async fn raw_post(target: Option<&str>, body: &'static str) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let http = reqwest::Client::new();
    let mut request = http
        .post(&shared().endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .body(body);
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let response = request.send().await.expect("server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    if let Some(crc) = headers.get("x-amz-crc32") {
        assert_eq!(crc.to_str().unwrap(), crc32(&body).to_string(), "x-amz-crc32 matches the body");
    }
    (status, headers, serde_json::from_slice(&body).expect("JSON error body"))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn unsigned_request_gets_missing_authentication_token() {
    let (status, headers, body) = raw_post(Some("DynamoDB_20120810.ListTables"), "{}").await;
    assert_eq!(status, 400);
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(body["__type"], "com.amazon.coral.service#MissingAuthenticationTokenException");
    assert_eq!(body["message"], "Request is missing Authentication Token");
}

/// POSTs `body` signed with SigV4 by the AWS signer (independent of the server's verifier);
/// `tamper` changes the body after signing.
async fn signed_post(target: &str, body: &[u8], tamper: bool) -> (u16, serde_json::Value) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(crate::common::ACCESS_KEY_ID, crate::common::SECRET_ACCESS_KEY, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-central-1")
        .name("dynamodb")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("{}/", shared().endpoint);
    let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target)];
    let signable = SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = reqwest::Client::new().post(&url);
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        request = request.header(name, value);
    }
    let mut body = body.to_vec();
    if tamper {
        body.push(b' ');
    }
    let response = request.body(body).send().await.expect("server answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test]
async fn signed_requests_with_bad_content_get_dynamodb_errors() {
    let (status, body) = signed_post("DynamoDB_20120810.ListTables", b"{}", false).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["TableNames"].is_array());

    let (status, body) = signed_post("DynamoDB_20120810.ListTables", b"{not json", false).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.service#SerializationException");

    let (status, body) = signed_post("DynamoDB_20120810.DropEverything", b"{}", false).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.service#UnknownOperationException");

    let (status, body) = signed_post("DynamoDB_20120810.ListTables", b"{}", true).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.service#InvalidSignatureException");

    let (status, body) =
        signed_post("DynamoDB_20120810.PutItem", br#"{"TableName":"x","Item":{"id":{"N":"not a number"}}}"#, false).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.validate#ValidationException", "{body}");

    let (status, body) = signed_post("DynamoDB_20120810.GetItem", br#"{"TableName":"x","Key":{"id":{"S":1}}}"#, false).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.service#SerializationException", "{body}");

    // The server is still serving after all that.
    let (status, _) = signed_post("DynamoDB_20120810.ListTables", b"{}", false).await;
    assert_eq!(status, 200);
}

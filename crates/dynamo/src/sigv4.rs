//! AWS Signature Version 4 verification for the `Authorization` header form the SDKs send:
//! rebuild the canonical request from what arrived, derive the signing key from the secret
//! of the named access key, and compare signatures in constant time.

use dynamo_model::{DynamoError, ErrorKind};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::config::AccessKeys;

type HmacSha256 = Hmac<Sha256>;

/// How far the client's clock may be from ours, as in AWS.
const MAX_CLOCK_SKEW_SECONDS: i64 = 15 * 60;

/// What the verified signature tells about the caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The region the client signed for (DynamoDB's ARNs name it).
    pub region: String,
}

struct ParsedAuthorization<'a> {
    access_key_id: &'a str,
    scope: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> DynamoError {
    DynamoError::new(ErrorKind::IncompleteSignature, message)
}

fn parse_authorization(header: &str) -> Result<ParsedAuthorization<'_>, DynamoError> {
    let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header and the algorithm AWS4-HMAC-SHA256. Authorization={header}"
        )));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |name: &str| incomplete(format!("Authorization header requires '{name}' parameter. Authorization={header}"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let (access_key_id, scope) = credential.split_once('/').ok_or_else(|| missing("Credential"))?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = scope_parts[..] else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and terminated by 'aws4_request'. Credential={credential}"
        )));
    };
    Ok(ParsedAuthorization {
        access_key_id,
        scope,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// Seconds since the epoch of an ISO 8601 basic timestamp such as `20260101T120000Z`.
fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hh * 3600 + mm * 60 + ss)
}

fn format_amz_date(epoch: i64) -> String {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Header value as SigV4 canonicalises it: all values of the name joined by commas, each
/// trimmed, runs of spaces collapsed.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let joined: Vec<String> = values
        .map(|v| {
            let text = String::from_utf8_lossy(v.as_bytes());
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    Some(joined.join(","))
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Checks the request's SigV4 signature against `keys`. `now` is seconds since the epoch.
pub fn verify(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    keys: &AccessKeys,
    now: i64,
) -> Result<Caller, DynamoError> {
    let Some(authorization) = headers.get("authorization") else {
        return Err(DynamoError::new(ErrorKind::MissingAuthenticationToken, "Request is missing Authentication Token"));
    };
    let authorization = authorization
        .to_str()
        .map_err(|_| incomplete("Authorization header is not valid ASCII"))?;
    let auth = parse_authorization(authorization)?;
    let Some(secret) = keys.secret(auth.access_key_id) else {
        return Err(DynamoError::new(
            ErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        ));
    };
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| incomplete(format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'.")))?;
    if !amz_date.starts_with(auth.date) {
        return Err(DynamoError::new(
            ErrorKind::InvalidSignature,
            format!("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.", auth.date, &amz_date[..8]),
        ));
    }
    if (signed_at - now).abs() > MAX_CLOCK_SKEW_SECONDS {
        let (earlier, later) = if signed_at < now { ("earlier", now - MAX_CLOCK_SKEW_SECONDS) } else { ("later", now + MAX_CLOCK_SKEW_SECONDS) };
        return Err(DynamoError::new(
            ErrorKind::InvalidSignature,
            format!(
                "Signature expired: {amz_date} is now {earlier} than {} ({} {} 15 min.)",
                format_amz_date(later),
                format_amz_date(now),
                if signed_at < now { "-" } else { "+" }
            ),
        ));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(DynamoError::new(ErrorKind::InvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization."));
    }
    let body_hash = hex::encode(Sha256::digest(body));
    if let Some(claimed) = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok())
        && claimed != "UNSIGNED-PAYLOAD"
        && claimed != body_hash
    {
        return Err(DynamoError::new(
            ErrorKind::InvalidSignature,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }

    let mut canonical = String::with_capacity(512);
    canonical.push_str(method);
    canonical.push('\n');
    canonical.push_str(if path.is_empty() { "/" } else { path });
    canonical.push('\n');
    canonical.push_str(&canonical_query(query));
    canonical.push('\n');
    for name in &auth.signed_headers {
        let value = canonical_header_value(headers, name).unwrap_or_default();
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&value);
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&auth.signed_headers.join(";"));
    canonical.push('\n');
    canonical.push_str(&body_hash);

    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let provided = hex::decode(auth.signature).unwrap_or_default();
    let mut mac = HmacSha256::new_from_slice(&k_signing).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    if mac.verify_slice(&provided).is_err() {
        return Err(DynamoError::new(
            ErrorKind::InvalidSignature,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(Caller { region: auth.region.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        for epoch in [0, 951782400, 1_767_225_600, 1_798_761_599, 4_102_444_800] {
            assert_eq!(parse_amz_date(&format_amz_date(epoch)), Some(epoch));
        }
        assert_eq!(parse_amz_date("20260101T000000Z"), Some(1_767_225_600));
        assert_eq!(parse_amz_date("2026-01-01T00:00:00Z"), None);
    }

    /// The "get-vanilla" example of AWS's SigV4 test suite (secret and expected signature are
    /// published test values).
    #[test]
    fn aws_test_suite_get_vanilla() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        let keys = AccessKeys::new([("AKIDEXAMPLE".into(), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into())]);
        let now = parse_amz_date("20150830T123600Z").unwrap();
        let caller = verify("GET", "/", "", &headers, b"", &keys, now).unwrap();
        assert_eq!(caller.region, "us-east-1");
        let wrong = AccessKeys::new([("AKIDEXAMPLE".into(), "other".into())]);
        let err = verify("GET", "/", "", &headers, b"", &wrong, now).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidSignature);
        let err = verify("GET", "/", "", &headers, b"", &keys, now + 3600).unwrap_err();
        assert!(err.message.starts_with("Signature expired"), "{}", err.message);
    }
}
